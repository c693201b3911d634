// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title RewardDistributor
/// @notice Holds each dataset's patient reward pool (funded by the marketplace at every
///         purchase) and pays patients per epoch against a Merkle root of (patient, amount)
///         posted by an operator.
/// @dev Merkle leaves are exactly those of `@openzeppelin/merkle-tree`'s
///      `StandardMerkleTree.of(values, ["address", "uint256"])`, one tree per (dataset, epoch):
///      `leaf = keccak256(bytes.concat(keccak256(abi.encode(account, amount))))`, where
///      `amount` is what `account` earns in that epoch (not cumulative). Dataset and epoch are
///      not in the leaf: each (dataset, epoch) has its own root, so a leaf only proves against
///      the tree it belongs to. Internal nodes use sorted-pair keccak256 (OZ MerkleProof).
///
///      Solvency: a root is accepted only if the sum of all roots' totals for the dataset stays
///      within what was funded, and claims are capped by their epoch's total, so total
///      claimed <= total allocated <= total funded for every dataset, even with a faulty tree.
///
///      Roles: DEFAULT_ADMIN_ROLE is the TimelockController (governance grants and revokes
///      OPERATOR_ROLE), FUNDER_ROLE is held by the Marketplace.
contract RewardDistributor is AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Posts reward roots.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice May report funding it has already transferred (the Marketplace).
    bytes32 public constant FUNDER_ROLE = keccak256("FUNDER_ROLE");

    /// @notice Funding of one dataset's pool and how much of it posted roots reserve (one slot).
    struct Pool {
        uint128 funded;
        uint128 allocated;
    }

    /// @notice One posted reward epoch of a dataset.
    struct Epoch {
        bytes32 root;
        uint128 total;
        uint128 claimed;
    }

    /// @notice One entry of a batch claim.
    struct Claim {
        bytes32 datasetId;
        uint256 epoch;
        uint256 amount;
        bytes32[] proof;
    }

    /// @notice The token address is zero.
    error InvalidToken();
    /// @notice The Merkle root is zero.
    error InvalidRoot();
    /// @notice A root with a zero total pays nothing.
    error ZeroTotal();
    /// @notice A funding amount is zero.
    error ZeroAmount();
    /// @notice The (dataset, epoch) already has a root; roots are immutable.
    error EpochAlreadyPosted(bytes32 datasetId, uint256 epoch);
    /// @notice The (dataset, epoch) has no root.
    error UnknownEpoch(bytes32 datasetId, uint256 epoch);
    /// @notice The epoch's total exceeds the pool's unallocated funds.
    error InsufficientPool(bytes32 datasetId, uint256 available, uint256 requested);
    /// @notice The account already claimed this epoch.
    error AlreadyClaimed(bytes32 datasetId, uint256 epoch, address account);
    /// @notice The proof does not prove (account, amount) against the epoch's root.
    error InvalidProof(bytes32 datasetId, uint256 epoch, address account, uint256 amount);
    /// @notice The claim would exceed what the epoch's root allocated.
    error EpochOverclaimed(bytes32 datasetId, uint256 epoch, uint256 remaining, uint256 amount);
    /// @notice The batch is empty.
    error EmptyBatch();

    /// @notice A dataset's pool received `amount` (from a purchase or a direct top-up).
    event PoolFunded(
        bytes32 indexed datasetId, address indexed from, uint256 amount, uint256 funded
    );
    /// @notice The operator posted the reward root of (dataset, epoch).
    event RootPosted(bytes32 indexed datasetId, uint256 indexed epoch, bytes32 root, uint256 total);
    /// @notice `account` received `amount` for (dataset, epoch).
    event Claimed(
        bytes32 indexed datasetId, uint256 indexed epoch, address indexed account, uint256 amount
    );

    /// @notice The reward token (CohortToken).
    IERC20 public immutable token;

    mapping(bytes32 datasetId => Pool) private _pools;
    mapping(bytes32 datasetId => mapping(uint256 epoch => Epoch)) private _epochs;
    /// @dev Claimed flags per (dataset, account) as a bitmap over epochs: bit (epoch % 256) of
    ///      word (epoch / 256). A batch claim over consecutive epochs touches one slot.
    mapping(bytes32 datasetId => mapping(address account => mapping(uint256 word => uint256)))
        private _claimedBitmap;

    /// @param token_ The reward token.
    /// @param admin The TimelockController (DEFAULT_ADMIN_ROLE).
    constructor(IERC20 token_, address admin) {
        if (address(token_) == address(0)) revert InvalidToken();
        token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Records `amount` the funder has already transferred to this contract as
    ///         funding of `datasetId`'s pool. Only FUNDER_ROLE (the Marketplace).
    /// @param datasetId The dataset whose pool is funded.
    /// @param amount Amount transferred.
    function notifyFunding(bytes32 datasetId, uint256 amount) external onlyRole(FUNDER_ROLE) {
        _recordFunding(datasetId, amount);
    }

    /// @notice Tops up `datasetId`'s pool with `amount` pulled from the caller (needs allowance).
    /// @param datasetId The dataset whose pool is funded.
    /// @param amount Amount to pull.
    function fund(bytes32 datasetId, uint256 amount) external nonReentrant {
        _recordFunding(datasetId, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Posts the Merkle root of (patient, amount) for (dataset, epoch). Only
    ///         OPERATOR_ROLE. `total` (the sum of the tree's amounts) is reserved from the
    ///         pool's unallocated funds.
    /// @param datasetId The dataset.
    /// @param epoch The epoch number (any uint256; consecutive numbers are cheapest to claim).
    /// @param root Root of `StandardMerkleTree.of([[account, amount], ...], ["address","uint256"])`.
    /// @param total Sum of the tree's amounts.
    function postRoot(bytes32 datasetId, uint256 epoch, bytes32 root, uint256 total)
        external
        onlyRole(OPERATOR_ROLE)
    {
        if (root == bytes32(0)) revert InvalidRoot();
        if (total == 0) revert ZeroTotal();
        Epoch storage e = _epochs[datasetId][epoch];
        if (e.root != bytes32(0)) revert EpochAlreadyPosted(datasetId, epoch);
        Pool storage p = _pools[datasetId];
        uint256 available = uint256(p.funded) - p.allocated;
        if (total > available) revert InsufficientPool(datasetId, available, total);

        // total <= available, so allocated stays <= funded, a uint128.
        // forge-lint: disable-next-line(unsafe-typecast)
        p.allocated += uint128(total);
        e.root = root;
        // total <= available <= funded, which is a uint128.
        // forge-lint: disable-next-line(unsafe-typecast)
        e.total = uint128(total);
        emit RootPosted(datasetId, epoch, root, total);
    }

    /// @notice Pays `account` its reward for (dataset, epoch). Anyone may submit (a relayer
    ///         can pay the gas); the tokens always go to `account`.
    /// @param account The patient in the leaf.
    /// @param datasetId The dataset.
    /// @param epoch The epoch.
    /// @param amount The amount in the leaf.
    /// @param proof StandardMerkleTree proof of the leaf.
    function claim(
        address account,
        bytes32 datasetId,
        uint256 epoch,
        uint256 amount,
        bytes32[] calldata proof
    ) external nonReentrant {
        _claim(account, datasetId, epoch, amount, proof);
        if (amount != 0) token.safeTransfer(account, amount);
    }

    /// @notice Pays `account` several (dataset, epoch) rewards with one transfer.
    /// @param account The patient in every leaf.
    /// @param claims The entries; each must be valid or the whole batch reverts.
    /// @return total The amount transferred.
    function claimBatch(address account, Claim[] calldata claims)
        external
        nonReentrant
        returns (uint256 total)
    {
        if (claims.length == 0) revert EmptyBatch();
        for (uint256 i = 0; i < claims.length; ++i) {
            Claim calldata c = claims[i];
            _claim(account, c.datasetId, c.epoch, c.amount, c.proof);
            total += c.amount;
        }
        if (total != 0) token.safeTransfer(account, total);
    }

    /// @notice A dataset's pool. What was claimed is the sum of its epochs' `claimed`
    ///         (see `epochOf`, or the `Claimed` events); it never exceeds `allocated`.
    /// @param datasetId The dataset.
    /// @return funded Total ever funded.
    /// @return allocated Total reserved by posted roots (the rest is not yet distributed).
    function pool(bytes32 datasetId) external view returns (uint256 funded, uint256 allocated) {
        Pool memory p = _pools[datasetId];
        return (p.funded, p.allocated);
    }

    /// @notice A posted epoch.
    /// @param datasetId The dataset.
    /// @param epoch The epoch.
    /// @return root The Merkle root (zero if not posted).
    /// @return total Amount the root allocates.
    /// @return claimed Amount claimed so far.
    function epochOf(bytes32 datasetId, uint256 epoch)
        external
        view
        returns (bytes32 root, uint256 total, uint256 claimed)
    {
        Epoch memory e = _epochs[datasetId][epoch];
        return (e.root, e.total, e.claimed);
    }

    /// @notice Whether `account` has claimed (dataset, epoch).
    /// @param datasetId The dataset.
    /// @param epoch The epoch.
    /// @param account The patient.
    function isClaimed(bytes32 datasetId, uint256 epoch, address account)
        external
        view
        returns (bool)
    {
        // forge-lint: disable-next-line(incorrect-shift)
        return _claimedBitmap[datasetId][account][epoch >> 8] & (1 << (epoch & 0xff)) != 0;
    }

    /// @notice The leaf of (account, amount), as StandardMerkleTree ["address","uint256"].
    /// @param account The patient.
    /// @param amount The amount.
    function leafOf(address account, uint256 amount) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account, amount))));
    }

    function _recordFunding(bytes32 datasetId, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        Pool storage p = _pools[datasetId];
        uint128 funded = SafeCast.toUint128(uint256(p.funded) + amount);
        p.funded = funded;
        emit PoolFunded(datasetId, msg.sender, amount, funded);
    }

    function _claim(
        address account,
        bytes32 datasetId,
        uint256 epoch,
        uint256 amount,
        bytes32[] calldata proof
    ) private {
        Epoch storage e = _epochs[datasetId][epoch];
        bytes32 root = e.root;
        if (root == bytes32(0)) revert UnknownEpoch(datasetId, epoch);
        if (!MerkleProof.verifyCalldata(proof, root, leafOf(account, amount))) {
            revert InvalidProof(datasetId, epoch, account, amount);
        }
        _setClaimed(datasetId, epoch, account);
        _debit(e, datasetId, epoch, amount);
        emit Claimed(datasetId, epoch, account, amount);
    }

    function _setClaimed(bytes32 datasetId, uint256 epoch, address account) private {
        mapping(uint256 => uint256) storage bitmap = _claimedBitmap[datasetId][account];
        uint256 word = epoch >> 8;
        // forge-lint: disable-next-line(incorrect-shift)
        uint256 mask = 1 << (epoch & 0xff);
        uint256 bits = bitmap[word];
        if (bits & mask != 0) revert AlreadyClaimed(datasetId, epoch, account);
        bitmap[word] = bits | mask;
    }

    function _debit(Epoch storage e, bytes32 datasetId, uint256 epoch, uint256 amount) private {
        uint256 epochRemaining = uint256(e.total) - e.claimed;
        if (amount > epochRemaining) {
            revert EpochOverclaimed(datasetId, epoch, epochRemaining, amount);
        }
        // Safe cast: amount <= epochRemaining, a uint128. No pool-level counter is needed
        // (it would cost every claim a storage write): claimed <= sum of epoch totals =
        // allocated <= funded (see postRoot).
        // forge-lint: disable-next-line(unsafe-typecast)
        e.claimed += uint128(amount);
    }
}
