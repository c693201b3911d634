// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title RewardDistributor
/// @notice Holds one patient reward pool for all datasets (funded by the marketplace at every
///         purchase) and pays payout addresses per epoch against one Merkle root of
///         (payout address, amount) posted by an operator.
/// @dev Merkle leaves are exactly those of `@openzeppelin/merkle-tree`'s
///      `StandardMerkleTree.of(values, ["address", "uint256"])`, one tree per epoch for all
///      datasets: `leaf = keccak256(bytes.concat(keccak256(abi.encode(account, amount))))`,
///      where `account` is a payout address and `amount` the sum of what it earns in that
///      epoch across every dataset (not cumulative). No dataset appears in a root, a leaf, a
///      claim or a claim event, so the chain does not tell from which dataset a payout came.
///      The epoch is not in the leaf: each epoch has its own root. Internal nodes use
///      sorted-pair keccak256 (OZ MerkleProof).
///
///      Solvency: a root is accepted only if the sum of all live roots' totals stays within
///      what was funded, and claims are capped by their epoch's total, so
///      claimed <= allocated <= funded, even with a faulty tree. What the contract owes is
///      `owed() = (funded - allocated) + sum over unsettled epochs of (total - claimed)`, which
///      equals funded minus everything ever claimed; any reward-token balance above it arrived
///      outside `fund`/`notifyFunding` (a stray transfer) and governance may recover it.
///      `owed()` walks the posted epochs from `settledCursor`, the oldest epoch that may not be
///      settled (settled = vetoed, fully claimed or reclaimed: `total == claimed`); anyone may
///      move the cursor past settled epochs (`advanceSettledCursor`). The walk covers every
///      epoch posted since the oldest unsettled one: once expired epochs are reclaimed (anyone
///      may) and the cursor advanced, the epochs posted within the last challenge + claim
///      window. Claims write nothing global: the walk, paid by `recoverTokens` and the views,
///      is what keeps them cheap.
///
///      Roots are not trusted at once: a posted root becomes claimable only after the
///      challenge window, during which governance (DEFAULT_ADMIN_ROLE) or GUARDIAN_ROLE may veto
///      it (its total returns to the pool). Epochs are posted in increasing order (gaps
///      allowed: only epochs that pay get a root); vetoing the latest one restores the one
///      before as the latest, so the operator may post that epoch again and a root posted for a
///      future epoch cannot block the real ones.
///      Each root may be claimed during the claim window after it became claimable; then
///      anyone may call `reclaimExpired`, which returns what is left to the pool (unallocated
///      again, for later roots). A guardian pause stops roots from becoming claimable (it
///      extends every running challenge, so governance has time to veto) but never blocks
///      claims of roots that were claimable before the pause.
///
///      Roles: DEFAULT_ADMIN_ROLE is the TimelockController (governance grants and revokes
///      OPERATOR_ROLE and GUARDIAN_ROLE, sets the windows and recovers stray tokens, of the
///      reward token only what exceeds `owed()`). The funder (the Marketplace) is fixed at
///      construction: an immutable costs a purchase no storage read.
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

    /// @notice The funding of the one reward pool (all datasets) and how much of it posted
    ///         roots reserve (one slot).
    struct Pool {
        uint128 funded;
        uint128 allocated;
    }

    /// @notice One posted reward epoch. A claim reads both slots only.
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
    /// @notice The epoch already has a root; roots are immutable.
    error EpochAlreadyPosted(uint256 epoch);
    /// @notice Epochs are posted in increasing order (or the last one again after its veto).
    error EpochOutOfOrder(uint256 epoch, uint256 lastEpoch);
    /// @notice The epoch has no root.
    error UnknownEpoch(uint256 epoch);
    /// @notice The epoch's total exceeds the pool's unallocated funds.
    error InsufficientPool(uint256 available, uint256 requested);
    /// @notice The account already claimed this epoch.
    error AlreadyClaimed(uint256 epoch, address account);
    /// @notice The proof does not prove (account, amount) against the epoch's root.
    error InvalidProof(uint256 epoch, address account, uint256 amount);
    /// @notice The claim would exceed what the epoch's root allocated.
    error EpochOverclaimed(uint256 epoch, uint256 remaining, uint256 amount);
    /// @notice The batch is empty.
    error EmptyBatch();
    /// @notice The root is still in its challenge window (or the guardian paused claims of it).
    error NotYetClaimable(uint256 epoch, uint256 claimableAt);
    /// @notice The epoch's claim window is over.
    error ClaimWindowOver(uint256 epoch, uint256 expiresAt);
    /// @notice The epoch's claim window is not over yet.
    error ClaimWindowOpen(uint256 epoch, uint256 expiresAt);
    /// @notice The root's challenge window is over; it cannot be vetoed any more.
    error ChallengeOver(uint256 epoch);
    /// @notice Nothing is left to reclaim.
    error NothingToReclaim(uint256 epoch);
    /// @notice Only governance or a guardian may do this.
    error NotGuardianOrGovernance(address account);
    /// @notice A window is outside its allowed range.
    error InvalidWindow(uint256 challengeWindow, uint256 claimWindow);
    /// @notice Recovering `requested` reward tokens would take what is owed to the pool and
    ///         to claimants; at most `recoverable` (the stray surplus) may be recovered.
    error ExceedsRecoverable(uint256 recoverable, uint256 requested);
    /// @notice The pause state did not change.
    error PauseUnchanged(bool paused);

    /// @notice The pool received `amount` from a purchase of `datasetId` or a direct top-up
    ///         naming it (purchases are public per dataset already; the id is for auditors);
    ///         `funded` is the pool's new total funding, all datasets together.
    event PoolFunded(
        bytes32 indexed datasetId, address indexed from, uint256 amount, uint256 funded
    );
    /// @notice The operator posted the reward root of `epoch`; it becomes claimable at
    ///         `claimableAt` and may be claimed until `expiresAt` (unix seconds).
    event RootPosted(
        uint256 indexed epoch, bytes32 root, uint256 total, uint64 claimableAt, uint64 expiresAt
    );
    /// @notice The root of `epoch` was vetoed; its total is unallocated again.
    event RootVetoed(uint256 indexed epoch, address indexed by);
    /// @notice `account` received `amount` for `epoch`.
    event Claimed(uint256 indexed epoch, address indexed account, uint256 amount);
    /// @notice What was left unclaimed of `epoch` went back to the pool.
    event Reclaimed(uint256 indexed epoch, uint256 amount);
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

    Pool private _pool;
    mapping(uint256 epoch => Epoch) private _epochs;
    /// @notice The posted epochs in increasing order (index => epoch). A vetoed latest epoch is
    ///         removed (it may be posted again); any other vetoed one stays, zeroed (settled).
    uint256[] public postedEpochs;
    /// @notice Index in `postedEpochs` of the oldest epoch that may not be settled: every
    ///         epoch before it has `total == claimed` for good. `owed()` walks from here.
    uint256 public settledCursor;
    /// @dev Claimed flags per account as a bitmap over epochs: bit (epoch % 256) of word
    ///      (epoch / 256). A batch claim over consecutive epochs touches one slot.
    mapping(address account => mapping(uint256 word => uint256)) private _claimedBitmap;

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
    ///         funding of the pool, from a purchase of `datasetId`. Only the funder (the
    ///         Marketplace).
    /// @param datasetId The dataset that was bought (for the event only).
    /// @param amount Amount transferred.
    function notifyFunding(bytes32 datasetId, uint256 amount) external {
        if (msg.sender != funder) revert NotFunder(msg.sender);
        _recordFunding(datasetId, amount);
    }

    /// @notice Tops up the pool with `amount` pulled from the caller (needs allowance),
    ///         naming `datasetId` in the event.
    /// @param datasetId The dataset the top-up is for (for the event only).
    /// @param amount Amount to pull.
    function fund(bytes32 datasetId, uint256 amount) external nonReentrant {
        _recordFunding(datasetId, amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Posts the Merkle root of (payout address, amount) for `epoch`, all datasets
    ///         together. Only OPERATOR_ROLE. `total` (the sum of the tree's amounts) is
    ///         reserved from the pool's unallocated funds. The epoch must be above the last
    ///         posted epoch (epochs start at 1; gaps are allowed).
    /// @param epoch The epoch number (consecutive numbers are cheapest to claim).
    /// @param root Root of `StandardMerkleTree.of([[account, amount], ...], ["address","uint256"])`.
    /// @param total Sum of the tree's amounts.
    function postRoot(uint256 epoch, bytes32 root, uint256 total) external onlyRole(OPERATOR_ROLE) {
        if (root == bytes32(0)) revert InvalidRoot();
        if (total == 0) revert ZeroTotal();
        Epoch storage e = _epochs[epoch];
        if (e.root != bytes32(0)) revert EpochAlreadyPosted(epoch);
        uint256 last = lastEpoch();
        if (epoch <= last) revert EpochOutOfOrder(epoch, last);
        Pool storage p = _pool;
        uint256 available = uint256(p.funded) - p.allocated;
        if (total > available) revert InsufficientPool(available, total);
        uint96 total96 = SafeCast.toUint96(total);

        // total <= available, so allocated stays <= funded, a uint128.
        // forge-lint: disable-next-line(unsafe-typecast)
        p.allocated += uint128(total);
        postedEpochs.push(epoch);
        Settings memory s = settings;
        uint32 claimableAt = SafeCast.toUint32(block.timestamp + s.challengeWindow);
        uint32 expiresAt = SafeCast.toUint32(uint256(claimableAt) + s.claimWindow);
        e.root = root;
        e.total = total96;
        e.claimed = 0;
        e.claimableAt = claimableAt;
        e.expiresAt = expiresAt;
        emit RootPosted(epoch, root, total, claimableAt, expiresAt);
    }

    /// @notice Vetoes the root of `epoch` before it becomes claimable (or while the guardian
    ///         pause holds it): its total is unallocated again and, if it was the latest epoch,
    ///         the epoch before it becomes the latest again (so the operator may post a
    ///         corrected root). Governance or GUARDIAN_ROLE.
    /// @param epoch The epoch.
    function veto(uint256 epoch) external {
        if (!hasRole(GUARDIAN_ROLE, msg.sender) && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert NotGuardianOrGovernance(msg.sender);
        }
        Epoch storage e = _epochs[epoch];
        if (e.root == bytes32(0)) revert UnknownEpoch(epoch);
        if (_isClaimable(e.claimableAt, settings.pausedSince)) revert ChallengeOver(epoch);
        _pool.allocated -= e.total;
        delete _epochs[epoch];
        // A live epoch is always in the list, so it is not empty.
        uint256 newLength = postedEpochs.length - 1;
        if (postedEpochs[newLength] == epoch) {
            postedEpochs.pop();
            // An expired epoch held by the pause may have been reclaimed (settled) and passed
            // by the cursor before this veto: the cursor must not point past the list, or the
            // next posted epoch would be skipped by `owed()`.
            if (settledCursor > newLength) settledCursor = newLength;
        }
        emit RootVetoed(epoch, msg.sender);
    }

    /// @notice After the claim window of `epoch`, returns what was left unclaimed to the pool
    ///         (unallocated again, for later roots). Anyone may call.
    /// @param epoch The epoch.
    /// @return amount The amount returned to the pool.
    function reclaimExpired(uint256 epoch) external returns (uint256 amount) {
        Epoch storage e = _epochs[epoch];
        if (e.root == bytes32(0)) revert UnknownEpoch(epoch);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < e.expiresAt) revert ClaimWindowOpen(epoch, e.expiresAt);
        amount = uint256(e.total) - e.claimed;
        if (amount == 0) revert NothingToReclaim(epoch);
        // The epoch now allocates exactly what was claimed: allocated = sum of totals holds,
        // and the epoch is settled.
        e.total = e.claimed;
        // forge-lint: disable-next-line(unsafe-typecast)
        _pool.allocated -= uint128(amount);
        emit Reclaimed(epoch, amount);
    }

    /// @notice Moves `settledCursor` past settled epochs (vetoed, fully claimed or
    ///         reclaimed), at most `maxSteps` of them, stopping at the first unsettled one.
    ///         Anyone may call; it only shortens the walk of `owed()` and `recoverable()`.
    /// @param maxSteps Most epochs to pass in this call (bounds its gas).
    /// @return cursor The new cursor.
    function advanceSettledCursor(uint256 maxSteps) external returns (uint256 cursor) {
        cursor = settledCursor;
        uint256 start = cursor;
        uint256 length = postedEpochs.length;
        while (cursor < length && cursor - start < maxSteps) {
            Epoch storage e = _epochs[postedEpochs[cursor]];
            if (e.total != e.claimed) break;
            ++cursor;
        }
        if (cursor != start) settledCursor = cursor;
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

    /// @notice Sends tokens sent here by mistake to `to`. Governance only. Any token other
    ///         than the reward token in full; of the reward token at most `recoverable()`,
    ///         the balance above what is owed to the pool and to claimants.
    /// @param stray The token.
    /// @param to Receiver.
    /// @param amount Amount.
    function recoverTokens(IERC20 stray, address to, uint256 amount)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (address(stray) == address(token)) {
            uint256 available = recoverable();
            if (amount > available) revert ExceedsRecoverable(available, amount);
        }
        stray.safeTransfer(to, amount);
        emit TokensRecovered(address(stray), to, amount);
    }

    /// @notice Pays `account` its reward for `epoch`. Anyone may submit (a relayer can pay
    ///         the gas); the tokens always go to `account`.
    /// @param account The payout address in the leaf.
    /// @param epoch The epoch.
    /// @param amount The amount in the leaf.
    /// @param proof StandardMerkleTree proof of the leaf.
    function claim(address account, uint256 epoch, uint256 amount, bytes32[] calldata proof)
        external
    {
        // No reentrancy guard needed: every check and state change happens before the one
        // transfer, of the immutable reward token (CohortToken, no hooks).
        _claim(account, epoch, amount, proof, settings.pausedSince);
        if (amount != 0) token.safeTransfer(account, amount);
    }

    /// @notice Pays `account` several epochs' rewards with one transfer. Anyone may submit;
    ///         the tokens always go to `account`.
    /// @param account The payout address in every leaf.
    /// @param claims The entries; each must be valid or the whole batch reverts.
    /// @return total The amount transferred.
    function claimBatch(address account, Claim[] calldata claims) external returns (uint256 total) {
        if (claims.length == 0) revert EmptyBatch();
        uint32 pausedSince = settings.pausedSince;
        for (uint256 i = 0; i < claims.length; ++i) {
            Claim calldata c = claims[i];
            _claim(account, c.epoch, c.amount, c.proof, pausedSince);
            total += c.amount;
        }
        if (total != 0) token.safeTransfer(account, total);
    }

    /// @notice The pool of all datasets. What was claimed is the sum of the epochs' `claimed`
    ///         (see `epochOf`, or the `Claimed` events); it never exceeds `allocated`.
    /// @return funded Total ever funded.
    /// @return allocated Total reserved by posted roots (the rest is not yet distributed).
    function pool() external view returns (uint256 funded, uint256 allocated) {
        Pool memory p = _pool;
        return (p.funded, p.allocated);
    }

    /// @notice The highest epoch posted (0 = none; after a veto of the latest epoch, the one
    ///         posted before it).
    function lastEpoch() public view returns (uint256) {
        uint256 length = postedEpochs.length;
        return length == 0 ? 0 : postedEpochs[length - 1];
    }

    /// @notice How many entries `postedEpochs` has (the walk of `owed()` covers those from
    ///         `settledCursor` on).
    function postedEpochCount() external view returns (uint256) {
        return postedEpochs.length;
    }

    /// @notice Reward tokens this contract owes: the pool's unallocated funds plus what the
    ///         unsettled epochs may still pay or return to the pool. Equals everything ever
    ///         funded minus everything ever claimed. Walks the epochs from `settledCursor`.
    /// @return amount The amount owed.
    function owed() public view returns (uint256 amount) {
        Pool memory p = _pool;
        amount = uint256(p.funded) - p.allocated;
        uint256 length = postedEpochs.length;
        for (uint256 i = settledCursor; i < length; ++i) {
            Epoch storage e = _epochs[postedEpochs[i]];
            amount += uint256(e.total) - e.claimed;
        }
    }

    /// @notice Reward tokens governance may recover: the balance above `owed()` (tokens that
    ///         arrived by plain transfer rather than through `fund` or a purchase).
    /// @return amount The recoverable amount.
    function recoverable() public view returns (uint256 amount) {
        uint256 balance = token.balanceOf(address(this));
        uint256 owedNow = owed();
        // Solvency (balance >= owed) is an invariant; the guard only keeps the view total.
        return balance > owedNow ? balance - owedNow : 0;
    }

    /// @notice A posted epoch.
    /// @param epoch The epoch.
    /// @return root The Merkle root (zero if not posted or vetoed).
    /// @return total Amount the root allocates (after a reclaim: what was claimed).
    /// @return claimed Amount claimed so far.
    /// @return claimableAt Unix second from which it can be claimed.
    /// @return expiresAt Unix second from which it can no longer be claimed.
    function epochOf(uint256 epoch)
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
        Epoch memory e = _epochs[epoch];
        return (e.root, e.total, e.claimed, e.claimableAt, e.expiresAt);
    }

    /// @notice Whether `account` has claimed `epoch`.
    /// @param epoch The epoch.
    /// @param account The payout address.
    function isClaimed(uint256 epoch, address account) external view returns (bool) {
        // forge-lint: disable-next-line(incorrect-shift)
        return _claimedBitmap[account][epoch >> 8] & (1 << (epoch & 0xff)) != 0;
    }

    /// @notice The leaf of (account, amount), as StandardMerkleTree ["address","uint256"].
    /// @param account The payout address.
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
        Pool storage p = _pool;
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
        uint256 epoch,
        uint256 amount,
        bytes32[] calldata proof,
        uint32 pausedSince
    ) private {
        Epoch storage e = _epochs[epoch];
        bytes32 root = e.root;
        if (root == bytes32(0)) revert UnknownEpoch(epoch);
        uint96 claimed = _checkClaimWindow(e, epoch, pausedSince);
        if (!MerkleProof.verifyCalldata(proof, root, leafOf(account, amount))) {
            revert InvalidProof(epoch, account, amount);
        }
        _setClaimed(epoch, account);
        uint256 epochRemaining = uint256(e.total) - claimed;
        if (amount > epochRemaining) revert EpochOverclaimed(epoch, epochRemaining, amount);
        // Safe cast: amount <= epochRemaining, a uint96. No pool-level counter is needed
        // (it would cost every claim a storage write): claimed <= sum of epoch totals =
        // allocated <= funded (see postRoot), and `owed()` sums the epochs instead.
        // forge-lint: disable-next-line(unsafe-typecast)
        e.claimed = claimed + uint96(amount);
        emit Claimed(epoch, account, amount);
    }

    /// @dev Reverts unless `epoch` is claimable now; returns what was claimed so far.
    function _checkClaimWindow(Epoch storage e, uint256 epoch, uint32 pausedSince)
        private
        view
        returns (uint96 claimed)
    {
        uint32 claimableAt = e.claimableAt;
        if (!_isClaimable(claimableAt, pausedSince)) revert NotYetClaimable(epoch, claimableAt);
        uint32 expiresAt = e.expiresAt;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= expiresAt) revert ClaimWindowOver(epoch, expiresAt);
        return e.claimed;
    }

    function _setClaimed(uint256 epoch, address account) private {
        mapping(uint256 => uint256) storage bitmap = _claimedBitmap[account];
        uint256 word = epoch >> 8;
        // forge-lint: disable-next-line(incorrect-shift)
        uint256 mask = 1 << (epoch & 0xff);
        uint256 bits = bitmap[word];
        if (bits & mask != 0) revert AlreadyClaimed(epoch, account);
        bitmap[word] = bits | mask;
    }
}
