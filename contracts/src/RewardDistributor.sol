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
///      Roots are not trusted at once: a posted root becomes claimable only after the
///      challenge window, during which governance (DEFAULT_ADMIN_ROLE) or GUARDIAN_ROLE may veto
///      it (its total returns to the pool and the operator may post that epoch again). Epochs
///      of a dataset are posted in increasing order; vetoing the latest one restores the one
///      before, so a root posted for a future epoch cannot block the real ones.
///      Each root may be claimed during the claim window after it became claimable; then
///      anyone may call `reclaimExpired`, which returns what is left to the dataset's pool
///      (unallocated again, for later roots). A guardian pause stops roots from becoming
///      claimable (it extends every running challenge, so governance has time to veto) but
///      never blocks claims of roots that were claimable before the pause.
///
///      Roles: DEFAULT_ADMIN_ROLE is the TimelockController (governance grants and revokes
///      OPERATOR_ROLE and GUARDIAN_ROLE, sets the windows and recovers stray tokens). The
///      funder (the Marketplace) is fixed at construction: an immutable costs a purchase no
///      storage read.
contract RewardDistributor is AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Posts reward roots.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice May veto roots in their challenge window and pause claims of new roots.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @notice Longest challenge window governance may set.
    uint32 public constant MAX_CHALLENGE_WINDOW = 30 days;
    /// @notice Shortest claim window governance may set.
    uint32 public constant MIN_CLAIM_WINDOW = 1 days;
    /// @notice Longest claim window governance may set.
    uint32 public constant MAX_CLAIM_WINDOW = 3650 days;

    /// @notice Funding of one dataset's pool and how much of it posted roots reserve (one slot).
    struct Pool {
        uint128 funded;
        uint128 allocated;
    }

    /// @notice One posted reward epoch of a dataset. A claim reads both slots only.
    struct Epoch {
        bytes32 root;
        uint96 total;
        uint96 claimed;
        uint32 claimableAt;
        uint32 expiresAt;
    }

    /// @notice Governed windows and the guardian pause, packed in one slot.
    struct Settings {
        uint32 challengeWindow;
        uint32 claimWindow;
        uint32 pausedSince;
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
    /// @notice Only the funder (the Marketplace) reports funding.
    error NotFunder(address account);
    /// @notice The Merkle root is zero.
    error InvalidRoot();
    /// @notice A root with a zero total pays nothing.
    error ZeroTotal();
    /// @notice A funding amount is zero.
    error ZeroAmount();
    /// @notice The (dataset, epoch) already has a root; roots are immutable.
    error EpochAlreadyPosted(bytes32 datasetId, uint256 epoch);
    /// @notice Epochs are posted in increasing order (or the last one again after its veto).
    error EpochOutOfOrder(bytes32 datasetId, uint256 epoch, uint256 lastEpoch);
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
    /// @notice The root is still in its challenge window (or the guardian paused claims of it).
    error NotYetClaimable(bytes32 datasetId, uint256 epoch, uint256 claimableAt);
    /// @notice The epoch's claim window is over.
    error ClaimWindowOver(bytes32 datasetId, uint256 epoch, uint256 expiresAt);
    /// @notice The epoch's claim window is not over yet.
    error ClaimWindowOpen(bytes32 datasetId, uint256 epoch, uint256 expiresAt);
    /// @notice The root's challenge window is over; it cannot be vetoed any more.
    error ChallengeOver(bytes32 datasetId, uint256 epoch);
    /// @notice Nothing is left to reclaim.
    error NothingToReclaim(bytes32 datasetId, uint256 epoch);
    /// @notice Only governance or a guardian may do this.
    error NotGuardianOrGovernance(address account);
    /// @notice A window is outside its allowed range.
    error InvalidWindow(uint256 challengeWindow, uint256 claimWindow);
    /// @notice The reward token cannot be recovered: it is owed to patients.
    error RewardTokenNotRecoverable();
    /// @notice The pause state did not change.
    error PauseUnchanged(bool paused);

    /// @notice A dataset's pool received `amount` (from a purchase or a direct top-up).
    event PoolFunded(
        bytes32 indexed datasetId, address indexed from, uint256 amount, uint256 funded
    );
    /// @notice The operator posted the reward root of (dataset, epoch); it becomes claimable
    ///         at `claimableAt` and may be claimed until `expiresAt` (unix seconds).
    event RootPosted(
        bytes32 indexed datasetId,
        uint256 indexed epoch,
        bytes32 root,
        uint256 total,
        uint64 claimableAt,
        uint64 expiresAt
    );
    /// @notice The root of (dataset, epoch) was vetoed; its total is unallocated again.
    event RootVetoed(bytes32 indexed datasetId, uint256 indexed epoch, address indexed by);
    /// @notice `account` received `amount` for (dataset, epoch).
    event Claimed(
        bytes32 indexed datasetId, uint256 indexed epoch, address indexed account, uint256 amount
    );
    /// @notice What was left unclaimed of (dataset, epoch) went back to the pool.
    event Reclaimed(bytes32 indexed datasetId, uint256 indexed epoch, uint256 amount);
    /// @notice Governance changed the challenge and claim windows (seconds).
    event WindowsUpdated(uint32 challengeWindow, uint32 claimWindow);
    /// @notice The guardian paused (`paused`) or resumed claims of roots not yet claimable.
    event ClaimsPausedSet(address indexed by, bool paused);
    /// @notice Governance recovered tokens sent here by mistake.
    event TokensRecovered(address indexed token, address indexed to, uint256 amount);

    /// @notice The reward token (CohortToken).
    IERC20 public immutable token;
    /// @notice May report funding it has already transferred (the Marketplace).
    address public immutable funder;

    /// @notice The challenge and claim windows and the pause.
    Settings public settings;

    mapping(bytes32 datasetId => Pool) private _pools;
    mapping(bytes32 datasetId => mapping(uint256 epoch => Epoch)) private _epochs;
    /// @notice The highest epoch posted for each dataset (0 = none).
    mapping(bytes32 datasetId => uint256 epoch) public lastEpoch;
    /// @dev The dataset's last epoch before each posted one, restored when it is vetoed.
    mapping(bytes32 datasetId => mapping(uint256 epoch => uint256 previous)) private _previousEpoch;
    /// @dev Claimed flags per (dataset, account) as a bitmap over epochs: bit (epoch % 256) of
    ///      word (epoch / 256). A batch claim over consecutive epochs touches one slot.
    mapping(bytes32 datasetId => mapping(address account => mapping(uint256 word => uint256)))
        private _claimedBitmap;

    /// @param token_ The reward token.
    /// @param admin The TimelockController (DEFAULT_ADMIN_ROLE).
    /// @param funder_ The Marketplace (deployed right after: its address is known in advance).
    /// @param challengeWindow Seconds a posted root waits before it can be claimed.
    /// @param claimWindow Seconds a root can be claimed once claimable.
    constructor(
        IERC20 token_,
        address admin,
        address funder_,
        uint32 challengeWindow,
        uint32 claimWindow
    ) {
        if (address(token_) == address(0)) revert InvalidToken();
        token = token_;
        funder = funder_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setWindows(challengeWindow, claimWindow);
    }

    /// @notice Records `amount` the funder has already transferred to this contract as
    ///         funding of `datasetId`'s pool. Only the funder (the Marketplace).
    /// @param datasetId The dataset whose pool is funded.
    /// @param amount Amount transferred.
    function notifyFunding(bytes32 datasetId, uint256 amount) external {
        if (msg.sender != funder) revert NotFunder(msg.sender);
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
    ///         pool's unallocated funds. The epoch must be above the dataset's last posted
    ///         epoch (epochs start at 1).
    /// @param datasetId The dataset.
    /// @param epoch The epoch number (consecutive numbers are cheapest to claim).
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
        uint256 last = lastEpoch[datasetId];
        if (epoch <= last) revert EpochOutOfOrder(datasetId, epoch, last);
        Pool storage p = _pools[datasetId];
        uint256 available = uint256(p.funded) - p.allocated;
        if (total > available) revert InsufficientPool(datasetId, available, total);
        uint96 total96 = SafeCast.toUint96(total);

        // total <= available, so allocated stays <= funded, a uint128.
        // forge-lint: disable-next-line(unsafe-typecast)
        p.allocated += uint128(total);
        lastEpoch[datasetId] = epoch;
        _previousEpoch[datasetId][epoch] = last;
        Settings memory s = settings;
        uint32 claimableAt = SafeCast.toUint32(block.timestamp + s.challengeWindow);
        uint32 expiresAt = SafeCast.toUint32(uint256(claimableAt) + s.claimWindow);
        e.root = root;
        e.total = total96;
        e.claimed = 0;
        e.claimableAt = claimableAt;
        e.expiresAt = expiresAt;
        emit RootPosted(datasetId, epoch, root, total, claimableAt, expiresAt);
    }

    /// @notice Vetoes the root of (dataset, epoch) before it becomes claimable (or while the
    ///         guardian pause holds it): its total is unallocated again and, if it was the
    ///         dataset's latest epoch, the epoch before it becomes the latest again (so the
    ///         operator may post a corrected root). Governance or GUARDIAN_ROLE.
    /// @param datasetId The dataset.
    /// @param epoch The epoch.
    function veto(bytes32 datasetId, uint256 epoch) external {
        if (!hasRole(GUARDIAN_ROLE, msg.sender) && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert NotGuardianOrGovernance(msg.sender);
        }
        Epoch storage e = _epochs[datasetId][epoch];
        if (e.root == bytes32(0)) revert UnknownEpoch(datasetId, epoch);
        if (_isClaimable(e.claimableAt, settings.pausedSince)) revert ChallengeOver(datasetId, epoch);
        _pools[datasetId].allocated -= e.total;
        delete _epochs[datasetId][epoch];
        if (lastEpoch[datasetId] == epoch) lastEpoch[datasetId] = _previousEpoch[datasetId][epoch];
        emit RootVetoed(datasetId, epoch, msg.sender);
    }

    /// @notice After the claim window of (dataset, epoch), returns what was left unclaimed to
    ///         the dataset's pool (unallocated again, for later roots). Anyone may call.
    /// @param datasetId The dataset.
    /// @param epoch The epoch.
    /// @return amount The amount returned to the pool.
    function reclaimExpired(bytes32 datasetId, uint256 epoch) external returns (uint256 amount) {
        Epoch storage e = _epochs[datasetId][epoch];
        if (e.root == bytes32(0)) revert UnknownEpoch(datasetId, epoch);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < e.expiresAt) revert ClaimWindowOpen(datasetId, epoch, e.expiresAt);
        amount = uint256(e.total) - e.claimed;
        if (amount == 0) revert NothingToReclaim(datasetId, epoch);
        // The epoch now allocates exactly what was claimed: allocated = sum of totals holds.
        e.total = e.claimed;
        // forge-lint: disable-next-line(unsafe-typecast)
        _pools[datasetId].allocated -= uint128(amount);
        emit Reclaimed(datasetId, epoch, amount);
    }

    /// @notice Pauses (`paused = true`) or resumes claims of roots not yet claimable when the
    ///         pause began; roots claimable before it stay claimable. Only GUARDIAN_ROLE.
    /// @param paused Whether to pause.
    function setClaimsPaused(bool paused) external onlyRole(GUARDIAN_ROLE) {
        Settings storage s = settings;
        if ((s.pausedSince != 0) == paused) revert PauseUnchanged(paused);
        s.pausedSince = paused ? SafeCast.toUint32(block.timestamp) : 0;
        emit ClaimsPausedSet(msg.sender, paused);
    }

    /// @notice Sets the challenge and claim windows of roots posted from now on. Governance.
    /// @param challengeWindow Seconds, at most MAX_CHALLENGE_WINDOW.
    /// @param claimWindow Seconds, within [MIN_CLAIM_WINDOW, MAX_CLAIM_WINDOW].
    function setWindows(uint32 challengeWindow, uint32 claimWindow)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        _setWindows(challengeWindow, claimWindow);
    }

    /// @notice Sends tokens other than the reward token that were sent here by mistake.
    ///         Governance only. The reward token is never recoverable: it is owed to patients
    ///         (a mistaken transfer of it can only be paid out through a pool).
    /// @param stray The token.
    /// @param to Receiver.
    /// @param amount Amount.
    function recoverTokens(IERC20 stray, address to, uint256 amount)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (address(stray) == address(token)) revert RewardTokenNotRecoverable();
        stray.safeTransfer(to, amount);
        emit TokensRecovered(address(stray), to, amount);
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
    ) external {
        // No reentrancy guard needed: every check and state change happens before the one
        // transfer, of the immutable reward token (CohortToken, no hooks).
        _claim(account, datasetId, epoch, amount, proof, settings.pausedSince);
        if (amount != 0) token.safeTransfer(account, amount);
    }

    /// @notice Pays `account` several (dataset, epoch) rewards with one transfer.
    /// @param account The patient in every leaf.
    /// @param claims The entries; each must be valid or the whole batch reverts.
    /// @return total The amount transferred.
    function claimBatch(address account, Claim[] calldata claims)
        external
        returns (uint256 total)
    {
        if (claims.length == 0) revert EmptyBatch();
        uint32 pausedSince = settings.pausedSince;
        for (uint256 i = 0; i < claims.length; ++i) {
            Claim calldata c = claims[i];
            _claim(account, c.datasetId, c.epoch, c.amount, c.proof, pausedSince);
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
    /// @return root The Merkle root (zero if not posted or vetoed).
    /// @return total Amount the root allocates (after a reclaim: what was claimed).
    /// @return claimed Amount claimed so far.
    /// @return claimableAt Unix second from which it can be claimed.
    /// @return expiresAt Unix second from which it can no longer be claimed.
    function epochOf(bytes32 datasetId, uint256 epoch)
        external
        view
        returns (
            bytes32 root,
            uint256 total,
            uint256 claimed,
            uint256 claimableAt,
            uint256 expiresAt
        )
    {
        Epoch memory e = _epochs[datasetId][epoch];
        return (e.root, e.total, e.claimed, e.claimableAt, e.expiresAt);
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

    function _setWindows(uint32 challengeWindow, uint32 claimWindow) private {
        if (
            challengeWindow > MAX_CHALLENGE_WINDOW || claimWindow < MIN_CLAIM_WINDOW
                || claimWindow > MAX_CLAIM_WINDOW
        ) revert InvalidWindow(challengeWindow, claimWindow);
        settings.challengeWindow = challengeWindow;
        settings.claimWindow = claimWindow;
        emit WindowsUpdated(challengeWindow, claimWindow);
    }

    function _recordFunding(bytes32 datasetId, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        Pool storage p = _pools[datasetId];
        uint128 funded = SafeCast.toUint128(uint256(p.funded) + amount);
        p.funded = funded;
        emit PoolFunded(datasetId, msg.sender, amount, funded);
    }

    /// @dev Claimable once the challenge window is over, unless the guardian paused before
    ///      that moment (a pause never takes back what was already claimable).
    function _isClaimable(uint32 claimableAt, uint32 pausedSince) private view returns (bool) {
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < claimableAt) return false;
        return pausedSince == 0 || claimableAt <= pausedSince;
    }

    function _claim(
        address account,
        bytes32 datasetId,
        uint256 epoch,
        uint256 amount,
        bytes32[] calldata proof,
        uint32 pausedSince
    ) private {
        Epoch storage e = _epochs[datasetId][epoch];
        bytes32 root = e.root;
        if (root == bytes32(0)) revert UnknownEpoch(datasetId, epoch);
        uint96 claimed = _checkClaimWindow(e, datasetId, epoch, pausedSince);
        if (!MerkleProof.verifyCalldata(proof, root, leafOf(account, amount))) {
            revert InvalidProof(datasetId, epoch, account, amount);
        }
        _setClaimed(datasetId, epoch, account);
        uint256 epochRemaining = uint256(e.total) - claimed;
        if (amount > epochRemaining) {
            revert EpochOverclaimed(datasetId, epoch, epochRemaining, amount);
        }
        // Safe cast: amount <= epochRemaining, a uint96. No pool-level counter is needed
        // (it would cost every claim a storage write): claimed <= sum of epoch totals =
        // allocated <= funded (see postRoot).
        // forge-lint: disable-next-line(unsafe-typecast)
        e.claimed = claimed + uint96(amount);
        emit Claimed(datasetId, epoch, account, amount);
    }

    /// @dev Reverts unless (dataset, epoch) is claimable now; returns what was claimed so far.
    function _checkClaimWindow(
        Epoch storage e,
        bytes32 datasetId,
        uint256 epoch,
        uint32 pausedSince
    ) private view returns (uint96 claimed) {
        uint32 claimableAt = e.claimableAt;
        if (!_isClaimable(claimableAt, pausedSince)) {
            revert NotYetClaimable(datasetId, epoch, claimableAt);
        }
        uint32 expiresAt = e.expiresAt;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= expiresAt) revert ClaimWindowOver(datasetId, epoch, expiresAt);
        return e.claimed;
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
}
