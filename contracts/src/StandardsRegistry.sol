// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title StandardsRegistry
/// @notice The governed standards that the compute engine and the marketplace enforce: minimum
///         cell size k, rounding base, per-person contribution cap, differential-privacy
///         epsilon (per query and budget per researcher-dataset), purchase fee split and
///         treasury, and accepted dataset schema versions. Owned by the TimelockController: only executed proposals change it.
/// @dev Epsilons are fixed-point with 18 decimals (1e18 = epsilon 1.0). The constructor emits
///      the same events as the setters, so an indexer can rebuild the whole state from logs.
contract StandardsRegistry is Ownable {
    /// @notice Denominator of all basis-point values.
    uint16 public constant BPS = 10_000;
    /// @notice Smallest allowed minimum cell size (k = 1 would disclose single persons).
    uint32 public constant MIN_CELL_SIZE_FLOOR = 2;
    /// @notice Largest allowed minimum cell size.
    uint32 public constant MIN_CELL_SIZE_CEILING = 10_000;
    /// @notice Largest allowed rounding base (1 = no rounding).
    uint32 public constant MAX_ROUNDING_BASE = 1_000;
    /// @notice Largest allowed contribution cap (rows one person may add to one cell).
    uint32 public constant MAX_CONTRIBUTION_CAP = 1_000;
    /// @notice Fixed-point scale of epsilon values.
    uint256 public constant EPSILON_SCALE = 1e18;
    /// @notice Largest allowed epsilon budget per researcher and dataset (100.0).
    uint128 public constant MAX_EPSILON_BUDGET = 100e18;

    /// @notice Default minimum cell size (the CMS small-cell rule).
    uint32 public constant DEFAULT_MIN_CELL_SIZE = 11;
    /// @notice Default rounding base for counts.
    uint32 public constant DEFAULT_ROUNDING_BASE = 5;
    /// @notice Default contribution cap: one person adds at most 10 rows to a released count.
    uint32 public constant DEFAULT_CONTRIBUTION_CAP = 10;
    /// @notice Default epsilon spent per query (0.1).
    uint128 public constant DEFAULT_EPSILON_PER_QUERY = 0.1e18;
    /// @notice Default epsilon budget per researcher and dataset (5.0).
    uint128 public constant DEFAULT_EPSILON_BUDGET = 5e18;
    /// @notice Default share of each purchase that funds the patients' reward pool.
    uint16 public constant DEFAULT_PATIENTS_BPS = 3_000;
    /// @notice Default share of each purchase paid to the dataset's steward.
    uint16 public constant DEFAULT_STEWARD_BPS = 6_000;
    /// @notice Default share of each purchase paid to the treasury.
    uint16 public constant DEFAULT_TREASURY_BPS = 1_000;

    /// @notice Purchase fee split, the treasury address and the guardian's purchase pause,
    ///         packed in one slot: everything the marketplace reads at purchase.
    struct FeeSplit {
        uint16 patientsBps;
        uint16 stewardBps;
        uint16 treasuryBps;
        address treasury;
        bool purchasesPaused;
    }

    /// @notice The minimum cell size is outside [MIN_CELL_SIZE_FLOOR, MIN_CELL_SIZE_CEILING].
    error MinCellSizeOutOfRange(uint32 value);
    /// @notice The rounding base is outside [1, MAX_ROUNDING_BASE].
    error RoundingBaseOutOfRange(uint32 value);
    /// @notice The contribution cap is outside [1, MAX_CONTRIBUTION_CAP].
    error ContributionCapOutOfRange(uint32 value);
    /// @notice Epsilons must satisfy 0 < perQuery <= budget <= MAX_EPSILON_BUDGET.
    error InvalidEpsilon(uint128 perQuery, uint128 budget);
    /// @notice The fee split does not sum to BPS.
    error InvalidFeeSplit(uint16 patientsBps, uint16 stewardBps, uint16 treasuryBps);
    /// @notice The treasury cannot be the zero address.
    error InvalidTreasury();
    /// @notice A schema version hash cannot be zero.
    error InvalidSchemaVersion();
    /// @notice Renouncing ownership would freeze the standards forever.
    error RenounceDisabled();
    /// @notice Only the guardian or governance may pause purchases.
    error NotGuardianOrGovernance(address account);

    /// @notice The minimum cell size k changed.
    event MinCellSizeUpdated(uint32 previous, uint32 current);
    /// @notice The rounding base changed.
    event RoundingBaseUpdated(uint32 previous, uint32 current);
    /// @notice The contribution cap changed.
    event ContributionCapUpdated(uint32 previous, uint32 current);
    /// @notice The epsilon parameters changed (18-decimal fixed point).
    event EpsilonUpdated(uint128 epsilonPerQuery, uint128 epsilonBudget);
    /// @notice The purchase fee split changed.
    event FeeSplitUpdated(uint16 patientsBps, uint16 stewardBps, uint16 treasuryBps);
    /// @notice The treasury changed.
    event TreasuryUpdated(address indexed previous, address indexed current);
    /// @notice Governance named a new guardian (zero = none).
    event GuardianUpdated(address indexed previous, address indexed current);
    /// @notice Purchases were paused (`paused`) or resumed by `by`.
    event PurchasesPausedSet(address indexed by, bool paused);
    /// @notice A dataset schema version was accepted (true) or withdrawn (false).
    event SchemaVersionSet(bytes32 indexed schemaVersion, bool accepted);

    /// @notice Minimum number of distinct persons behind any released cell.
    uint32 public minCellSize;
    /// @notice Released counts are rounded to a multiple of this base.
    uint32 public roundingBase;
    /// @notice Rows one person may contribute to one released cell. It bounds how far one
    ///         person moves a count or sum, so the noise scales with it: a larger cap keeps
    ///         more of the data's detail and adds more noise.
    uint32 public contributionCap;
    /// @notice Epsilon spent by one query (18 decimals).
    uint128 public epsilonPerQuery;
    /// @notice Total epsilon a researcher may spend on one dataset (18 decimals).
    uint128 public epsilonBudget;

    FeeSplit private _feeSplit;

    /// @notice May pause and resume purchases (a fast brake; governance names it).
    address public guardian;

    /// @notice Whether a dataset schema version (keccak256 of its label) is accepted.
    mapping(bytes32 schemaVersion => bool) public isSchemaAccepted;

    /// @param owner_ The TimelockController.
    /// @param treasury_ Receiver of the treasury share of purchases.
    /// @param schemaVersions Schema versions accepted from the start.
    /// @param guardian_ May pause purchases (zero = nobody but governance).
    constructor(
        address owner_,
        address treasury_,
        bytes32[] memory schemaVersions,
        address guardian_
    ) Ownable(owner_) {
        _setGuardian(guardian_);
        _setMinCellSize(DEFAULT_MIN_CELL_SIZE);
        _setRoundingBase(DEFAULT_ROUNDING_BASE);
        _setContributionCap(DEFAULT_CONTRIBUTION_CAP);
        _setEpsilon(DEFAULT_EPSILON_PER_QUERY, DEFAULT_EPSILON_BUDGET);
        _setFeeSplit(DEFAULT_PATIENTS_BPS, DEFAULT_STEWARD_BPS, DEFAULT_TREASURY_BPS);
        _setTreasury(treasury_);
        for (uint256 i = 0; i < schemaVersions.length; ++i) {
            _setSchemaAccepted(schemaVersions[i], true);
        }
    }

    /// @notice Sets the minimum cell size k (MIN_CELL_SIZE_FLOOR..MIN_CELL_SIZE_CEILING).
    /// @param k The new minimum cell size.
    function setMinCellSize(uint32 k) external onlyOwner {
        _setMinCellSize(k);
    }

    /// @notice Sets the rounding base for released counts (1..MAX_ROUNDING_BASE).
    /// @param base The new rounding base.
    function setRoundingBase(uint32 base) external onlyOwner {
        _setRoundingBase(base);
    }

    /// @notice Sets the per-person contribution cap of a released cell (1..MAX_CONTRIBUTION_CAP).
    /// @param cap The new contribution cap.
    function setContributionCap(uint32 cap) external onlyOwner {
        _setContributionCap(cap);
    }

    /// @notice Sets the epsilon per query and the budget per researcher-dataset (18 decimals).
    /// @dev Set together because they are validated against each other (perQuery <= budget).
    /// @param perQuery Epsilon spent by one query.
    /// @param budget Total epsilon per researcher and dataset.
    function setEpsilon(uint128 perQuery, uint128 budget) external onlyOwner {
        _setEpsilon(perQuery, budget);
    }

    /// @notice Sets the purchase fee split in basis points; the three shares must sum to BPS.
    /// @param patientsBps Share funding the dataset's patient reward pool.
    /// @param stewardBps Share paid to the dataset's steward.
    /// @param treasuryBps Share paid to the treasury.
    function setFeeSplit(uint16 patientsBps, uint16 stewardBps, uint16 treasuryBps)
        external
        onlyOwner
    {
        _setFeeSplit(patientsBps, stewardBps, treasuryBps);
    }

    /// @notice Sets the treasury that receives the treasury share of purchases.
    /// @param treasury_ The new treasury (non-zero).
    function setTreasury(address treasury_) external onlyOwner {
        _setTreasury(treasury_);
    }

    /// @notice Accepts or withdraws a dataset schema version. Withdrawing blocks new listings
    ///         and versions with that schema; already published versions are not affected.
    /// @param schemaVersion keccak256 of the schema version label (e.g. "omop-lite/1").
    /// @param accepted True to accept, false to withdraw.
    function setSchemaAccepted(bytes32 schemaVersion, bool accepted) external onlyOwner {
        _setSchemaAccepted(schemaVersion, accepted);
    }

    /// @notice Names the guardian that may pause purchases. Governance only.
    /// @param guardian_ The new guardian (zero = none).
    function setGuardian(address guardian_) external onlyOwner {
        _setGuardian(guardian_);
    }

    /// @notice Pauses or resumes purchases (passes already bought keep working). The guardian
    ///         or governance.
    /// @param paused Whether purchases are paused.
    function setPurchasesPaused(bool paused) external {
        if (msg.sender != guardian && msg.sender != owner()) {
            revert NotGuardianOrGovernance(msg.sender);
        }
        _feeSplit.purchasesPaused = paused;
        emit PurchasesPausedSet(msg.sender, paused);
    }

    /// @notice Whether purchases are paused.
    function purchasesPaused() external view returns (bool) {
        return _feeSplit.purchasesPaused;
    }

    /// @notice What the marketplace needs at purchase, from one storage slot.
    /// @return patientsBps Share of the patients' pool.
    /// @return treasuryBps Share of the treasury (the steward gets the rest).
    /// @return treasury_ The treasury.
    /// @return paused Whether purchases are paused.
    function purchaseSplit()
        external
        view
        returns (uint16 patientsBps, uint16 treasuryBps, address treasury_, bool paused)
    {
        FeeSplit memory f = _feeSplit;
        return (f.patientsBps, f.treasuryBps, f.treasury, f.purchasesPaused);
    }

    /// @notice Always reverts: the standards must stay governable.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceDisabled();
    }

    /// @notice The fee split and treasury, read by the marketplace at every purchase.
    /// @return patientsBps Patients' share in bps.
    /// @return stewardBps Steward's share in bps.
    /// @return treasuryBps Treasury's share in bps.
    /// @return treasuryAddress The treasury address.
    function feeSplit()
        external
        view
        returns (uint16 patientsBps, uint16 stewardBps, uint16 treasuryBps, address treasuryAddress)
    {
        FeeSplit memory f = _feeSplit;
        return (f.patientsBps, f.stewardBps, f.treasuryBps, f.treasury);
    }

    /// @notice The treasury address.
    function treasury() external view returns (address) {
        return _feeSplit.treasury;
    }

    function _setMinCellSize(uint32 k) private {
        if (k < MIN_CELL_SIZE_FLOOR || k > MIN_CELL_SIZE_CEILING) revert MinCellSizeOutOfRange(k);
        emit MinCellSizeUpdated(minCellSize, k);
        minCellSize = k;
    }

    function _setRoundingBase(uint32 base) private {
        if (base == 0 || base > MAX_ROUNDING_BASE) revert RoundingBaseOutOfRange(base);
        emit RoundingBaseUpdated(roundingBase, base);
        roundingBase = base;
    }

    function _setContributionCap(uint32 cap) private {
        if (cap == 0 || cap > MAX_CONTRIBUTION_CAP) revert ContributionCapOutOfRange(cap);
        emit ContributionCapUpdated(contributionCap, cap);
        contributionCap = cap;
    }

    function _setEpsilon(uint128 perQuery, uint128 budget) private {
        if (perQuery == 0 || perQuery > budget || budget > MAX_EPSILON_BUDGET) {
            revert InvalidEpsilon(perQuery, budget);
        }
        epsilonPerQuery = perQuery;
        epsilonBudget = budget;
        emit EpsilonUpdated(perQuery, budget);
    }

    function _setFeeSplit(uint16 patientsBps, uint16 stewardBps, uint16 treasuryBps) private {
        if (uint256(patientsBps) + stewardBps + treasuryBps != BPS) {
            revert InvalidFeeSplit(patientsBps, stewardBps, treasuryBps);
        }
        _feeSplit.patientsBps = patientsBps;
        _feeSplit.stewardBps = stewardBps;
        _feeSplit.treasuryBps = treasuryBps;
        emit FeeSplitUpdated(patientsBps, stewardBps, treasuryBps);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert InvalidTreasury();
        emit TreasuryUpdated(_feeSplit.treasury, treasury_);
        _feeSplit.treasury = treasury_;
    }

    function _setGuardian(address guardian_) private {
        emit GuardianUpdated(guardian, guardian_);
        guardian = guardian_;
    }

    function _setSchemaAccepted(bytes32 schemaVersion, bool accepted) private {
        if (schemaVersion == bytes32(0)) revert InvalidSchemaVersion();
        isSchemaAccepted[schemaVersion] = accepted;
        emit SchemaVersionSet(schemaVersion, accepted);
    }
}
