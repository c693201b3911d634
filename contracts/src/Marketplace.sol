// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {DatasetRegistry} from "./DatasetRegistry.sol";
import {StandardsRegistry} from "./StandardsRegistry.sol";
import {RewardDistributor} from "./RewardDistributor.sol";
import {ResearcherCredential} from "./ResearcherCredential.sol";

/// @title Marketplace
/// @notice Sells time-bound access passes to datasets and is the single source of truth for
///         access: `hasAccess(researcher, datasetId)`. The payment is split at purchase by the
///         governed fee split: the patients' share funds the one reward pool of all datasets
///         in the RewardDistributor, the rest goes straight to the steward and the treasury. The
///         marketplace never holds tokens and has no owner; governance (the timelock) may
///         only send back tokens transferred here by mistake. Only accredited researchers
///         (a valid ResearcherCredential) may buy, and a pass only works while its holder is
///         accredited.
/// @dev Buying while a pass is active extends it from its current expiry; otherwise the new
///      pass starts now. The buyer names both the most it pays (`maxPrice`) and the earliest
///      expiry it accepts (`minExpiresAt`), so a steward changing price or duration in front
///      of a purchase cannot make it worse than agreed. Rounding: patients' and treasury
///      shares round down, the steward gets the remainder, so the three shares always sum to
///      the price.
///
///      The guardian's purchase pause lives in the StandardsRegistry slot read at purchase
///      anyway (passes already bought keep working). A dataset suspended by governance in the
///      DatasetRegistry can neither be bought nor used.
///
///      No reentrancy guard: every external call goes to a contract fixed at construction
///      (the token, the registries, the distributor), none of which calls back.
contract Marketplace {
    using SafeERC20 for IERC20;

    /// @notice Denominator of the fee split.
    uint256 private constant BPS = 10_000;

    /// @dev How one purchase is paid out (kept in memory to stay within the stack limit).
    struct Payment {
        uint256 price;
        uint256 patientsShare;
        uint256 stewardShare;
        uint256 treasuryShare;
        address treasury;
    }

    /// @notice A constructor argument is the zero address.
    error ZeroAddress();
    /// @notice The dataset does not exist or is delisted.
    error DatasetNotListed(bytes32 datasetId);
    /// @notice The current price exceeds the buyer's limit (e.g. the steward raised it).
    error PriceAboveMax(bytes32 datasetId, uint256 price, uint256 maxPrice);
    /// @notice The permit failed and the existing allowance does not cover the price.
    error PermitFailed();
    /// @notice The pass would expire before the buyer's limit (e.g. the steward cut the
    ///         duration).
    error ExpiryBelowMin(bytes32 datasetId, uint64 expiresAt, uint64 minExpiresAt);
    /// @notice The guardian paused purchases.
    error PurchasesPaused();
    /// @notice The buyer holds no valid researcher credential.
    error NotAccredited(address account);
    /// @notice Only governance (the TimelockController) may recover stray tokens.
    error NotGovernance(address account);

    /// @notice `researcher` bought access to `datasetId` until `expiresAt` (unix seconds).
    event AccessPurchased(
        bytes32 indexed datasetId,
        address indexed researcher,
        address indexed steward,
        uint256 price,
        uint256 patientsShare,
        uint256 stewardShare,
        uint256 treasuryShare,
        address treasury,
        uint64 expiresAt
    );

    /// @notice Governance recovered tokens sent here by mistake.
    event TokensRecovered(address indexed token, address indexed to, uint256 amount);

    /// @notice The payment token (CohortToken).
    IERC20 public immutable token;
    /// @notice The dataset catalogue.
    DatasetRegistry public immutable datasets;
    /// @notice Governed fee split and treasury.
    StandardsRegistry public immutable standards;
    /// @notice Receiver of the patients' share.
    RewardDistributor public immutable distributor;
    /// @notice Researcher accreditation.
    ResearcherCredential public immutable credentials;
    /// @notice The TimelockController: may recover stray tokens, nothing else.
    address public immutable governance;

    /// @notice Unix time at which `researcher`'s pass for `datasetId` expires (0 = never bought).
    mapping(address researcher => mapping(bytes32 datasetId => uint64)) public accessExpiry;

    /// @param token_ The payment token.
    /// @param datasets_ The DatasetRegistry.
    /// @param standards_ The StandardsRegistry.
    /// @param distributor_ The RewardDistributor (must name this contract its funder).
    /// @param credentials_ The ResearcherCredential.
    /// @param governance_ The TimelockController.
    constructor(
        IERC20 token_,
        DatasetRegistry datasets_,
        StandardsRegistry standards_,
        RewardDistributor distributor_,
        ResearcherCredential credentials_,
        address governance_
    ) {
        if (
            address(token_) == address(0) || address(datasets_) == address(0)
                || address(standards_) == address(0) || address(distributor_) == address(0)
                || address(credentials_) == address(0) || governance_ == address(0)
        ) revert ZeroAddress();
        token = token_;
        datasets = datasets_;
        standards = standards_;
        distributor = distributor_;
        credentials = credentials_;
        governance = governance_;
    }

    /// @notice Sends tokens transferred here by mistake (any token, the payment token
    ///         included: a purchase pays the steward, the treasury and the distributor
    ///         directly, so nothing held here is owed to anyone). Governance only.
    /// @param stray The token.
    /// @param to Receiver.
    /// @param amount Amount.
    function recoverTokens(IERC20 stray, address to, uint256 amount) external {
        if (msg.sender != governance) revert NotGovernance(msg.sender);
        stray.safeTransfer(to, amount);
        emit TokensRecovered(address(stray), to, amount);
    }

    /// @notice Buys (or extends) an access pass with an existing allowance to this contract.
    /// @param datasetId The dataset.
    /// @param maxPrice The most the caller is willing to pay.
    /// @param minExpiresAt The earliest expiry the caller accepts for its pass.
    /// @return expiresAt New expiry of the caller's pass.
    function purchaseAccess(bytes32 datasetId, uint256 maxPrice, uint64 minExpiresAt)
        external
        returns (uint64 expiresAt)
    {
        (address steward, uint256 price, uint64 duration) = _terms(datasetId, maxPrice);
        return _purchase(datasetId, steward, price, duration, minExpiresAt);
    }

    /// @notice Buys (or extends) an access pass in one transaction with an ERC-2612 permit for
    ///         this contract as spender and `value = maxPrice`. If the permit was already used
    ///         (e.g. front-run), the purchase still succeeds when the allowance suffices.
    /// @param datasetId The dataset.
    /// @param maxPrice The most the caller is willing to pay; also the permit's value.
    /// @param minExpiresAt The earliest expiry the caller accepts for its pass.
    /// @param deadline The permit's deadline.
    /// @param v Permit signature v.
    /// @param r Permit signature r.
    /// @param s Permit signature s.
    /// @return expiresAt New expiry of the caller's pass.
    function purchaseAccessWithPermit(
        bytes32 datasetId,
        uint256 maxPrice,
        uint64 minExpiresAt,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint64 expiresAt) {
        (address steward, uint256 price, uint64 duration) = _terms(datasetId, maxPrice);
        try IERC20Permit(address(token))
            .permit(msg.sender, address(this), maxPrice, deadline, v, r, s) {}
        catch {
            if (token.allowance(msg.sender, address(this)) < price) revert PermitFailed();
        }
        return _purchase(datasetId, steward, price, duration, minExpiresAt);
    }

    /// @notice Whether `researcher` holds an unexpired pass for `datasetId`, is accredited,
    ///         and governance has not suspended the dataset. The API gates queries on this.
    /// @param researcher The researcher.
    /// @param datasetId The dataset.
    function hasAccess(address researcher, bytes32 datasetId) external view returns (bool) {
        // Passes are measured in days; validator skew of seconds does not matter.
        // forge-lint: disable-next-line(block-timestamp)
        return accessExpiry[researcher][datasetId] > block.timestamp
            && !datasets.isSuspended(datasetId) && credentials.isAccredited(researcher);
    }

    /// @notice What a purchase of `datasetId` would cost and how it would be split now.
    /// @param datasetId The dataset.
    /// @return price Current price.
    /// @return patientsShare Amount for the patients' pool.
    /// @return stewardShare Amount for the steward.
    /// @return treasuryShare Amount for the treasury.
    function quote(bytes32 datasetId)
        external
        view
        returns (uint256 price, uint256 patientsShare, uint256 stewardShare, uint256 treasuryShare)
    {
        bool listed;
        (, price,, listed) = datasets.purchaseTerms(datasetId);
        if (!listed) revert DatasetNotListed(datasetId);
        (uint16 patientsBps,, uint16 treasuryBps,) = standards.feeSplit();
        (patientsShare, stewardShare, treasuryShare) = _split(price, patientsBps, treasuryBps);
    }

    function _terms(bytes32 datasetId, uint256 maxPrice)
        private
        view
        returns (address steward, uint256 price, uint64 duration)
    {
        if (!credentials.isAccredited(msg.sender)) revert NotAccredited(msg.sender);
        bool listed;
        (steward, price, duration, listed) = datasets.purchaseTerms(datasetId);
        if (!listed) revert DatasetNotListed(datasetId);
        if (price > maxPrice) revert PriceAboveMax(datasetId, price, maxPrice);
    }

    function _purchase(
        bytes32 datasetId,
        address steward,
        uint256 price,
        uint64 duration,
        uint64 minExpiresAt
    ) private returns (uint64 expiresAt) {
        uint64 current = accessExpiry[msg.sender][datasetId];
        // forge-lint: disable-next-line(block-timestamp)
        uint64 start = current > block.timestamp ? current : uint64(block.timestamp);
        expiresAt = start + duration;
        if (expiresAt < minExpiresAt) revert ExpiryBelowMin(datasetId, expiresAt, minExpiresAt);
        accessExpiry[msg.sender][datasetId] = expiresAt;

        Payment memory p;
        p.price = price;
        uint16 patientsBps;
        uint16 treasuryBps;
        bool paused;
        (patientsBps, treasuryBps, p.treasury, paused) = standards.purchaseSplit();
        if (paused) revert PurchasesPaused();
        (p.patientsShare, p.stewardShare, p.treasuryShare) = _split(price, patientsBps, treasuryBps);
        _emitPurchase(datasetId, steward, p, expiresAt);

        if (p.stewardShare != 0) token.safeTransferFrom(msg.sender, steward, p.stewardShare);
        if (p.treasuryShare != 0) token.safeTransferFrom(msg.sender, p.treasury, p.treasuryShare);
        if (p.patientsShare != 0) {
            token.safeTransferFrom(msg.sender, address(distributor), p.patientsShare);
            distributor.notifyFunding(datasetId, p.patientsShare);
        }
    }

    function _emitPurchase(bytes32 datasetId, address steward, Payment memory p, uint64 expiresAt)
        private
    {
        emit AccessPurchased(
            datasetId,
            msg.sender,
            steward,
            p.price,
            p.patientsShare,
            p.stewardShare,
            p.treasuryShare,
            p.treasury,
            expiresAt
        );
    }

    function _split(uint256 price, uint16 patientsBps, uint16 treasuryBps)
        private
        pure
        returns (uint256 patientsShare, uint256 stewardShare, uint256 treasuryShare)
    {
        patientsShare = price * patientsBps / BPS;
        treasuryShare = price * treasuryBps / BPS;
        stewardShare = price - patientsShare - treasuryShare;
    }
}
