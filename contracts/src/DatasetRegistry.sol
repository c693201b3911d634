// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {StewardBadge, IStewardRemovalHook} from "./StewardBadge.sol";
import {StandardsRegistry} from "./StandardsRegistry.sol";

/// @title DatasetRegistry
/// @notice Catalogue of datasets listed by stewards: opaque id, metadata hash, versions
///         (content hash + schema version), price and access duration. Nothing here reveals
///         what a dataset contains: ids and hashes are opaque, the metadata lives off chain.
/// @dev Stewards are StewardBadge holders; a steward whose badge was burned can no longer
///      change its datasets, and burning its badge delists all of them (the badge calls
///      `onStewardRemoved`). The owner (the TimelockController) may delist any dataset, hand a
///      dataset to another steward, and suspend a dataset, which also stops every access pass
///      already sold from working until it is lifted. A dataset delisted by governance can only
///      be relisted by governance.
contract DatasetRegistry is Ownable, IStewardRemovalHook {
    /// @notice Longest access pass a single purchase may buy.
    uint64 public constant MAX_ACCESS_DURATION = 3650 days;

    /// @notice A listed dataset. Slot 0 (steward, price) and slot 1 (duration, version, flags)
    ///         are all the marketplace reads at purchase.
    struct Dataset {
        address steward;
        uint96 price;
        uint64 accessDuration;
        uint32 latestVersion;
        bool listed;
        bool delistedByGovernance;
        bool suspended;
        bytes32 metadataHash;
    }

    /// @notice One published version of a dataset.
    struct Version {
        bytes32 contentHash;
        bytes32 schemaVersion;
        uint64 publishedAt;
    }

    /// @notice The caller holds no StewardBadge.
    error NotSteward(address account);
    /// @notice The caller is not the dataset's steward.
    error NotDatasetSteward(bytes32 datasetId, address account);
    /// @notice The caller is neither the dataset's steward nor governance.
    error NotDatasetStewardOrGovernance(bytes32 datasetId, address account);
    /// @notice The id is zero.
    error InvalidDatasetId();
    /// @notice A dataset with this id exists already (ids are never reused).
    error DatasetAlreadyExists(bytes32 datasetId);
    /// @notice No dataset with this id.
    error UnknownDataset(bytes32 datasetId);
    /// @notice The dataset is not listed.
    error DatasetNotListed(bytes32 datasetId);
    /// @notice The dataset is listed already.
    error DatasetAlreadyListed(bytes32 datasetId);
    /// @notice Governance delisted the dataset; only governance can relist it.
    error DelistedByGovernance(bytes32 datasetId);
    /// @notice The schema version is not accepted by governance.
    error SchemaNotAccepted(bytes32 schemaVersion);
    /// @notice A content or metadata hash is zero.
    error InvalidHash();
    /// @notice The access duration is zero or longer than MAX_ACCESS_DURATION.
    error InvalidAccessDuration(uint64 accessDuration);
    /// @notice The version does not exist.
    error UnknownVersion(bytes32 datasetId, uint32 version);
    /// @notice Renouncing ownership would remove governance's power to delist.
    error RenounceDisabled();
    /// @notice Only the StewardBadge reports removed stewards.
    error NotBadge(address caller);
    /// @notice The dataset is suspended by governance already (or not, when lifting).
    error SuspensionUnchanged(bytes32 datasetId, bool suspended);

    /// @notice A dataset was listed; its first version is announced by DatasetVersionPublished.
    event DatasetListed(
        bytes32 indexed datasetId,
        address indexed steward,
        bytes32 metadataHash,
        uint256 price,
        uint64 accessDuration
    );
    /// @notice A dataset version was published (version 1 at listing).
    event DatasetVersionPublished(
        bytes32 indexed datasetId,
        uint32 indexed version,
        bytes32 contentHash,
        bytes32 schemaVersion
    );
    /// @notice The price of an access pass changed.
    event DatasetPriceUpdated(bytes32 indexed datasetId, uint256 price);
    /// @notice The access duration bought by one purchase changed.
    event DatasetAccessDurationUpdated(bytes32 indexed datasetId, uint64 accessDuration);
    /// @notice The metadata hash changed.
    event DatasetMetadataUpdated(bytes32 indexed datasetId, bytes32 metadataHash);
    /// @notice The dataset was delisted: no new purchases (passes already bought stay valid).
    event DatasetDelisted(bytes32 indexed datasetId, address indexed by, bool byGovernance);
    /// @notice The dataset was listed again.
    event DatasetRelisted(bytes32 indexed datasetId, address indexed by);
    /// @notice Governance suspended the dataset (`suspended`) or lifted the suspension.
    ///         While suspended, no access pass works and nothing can be bought.
    event DatasetSuspended(bytes32 indexed datasetId, bool suspended);
    /// @notice Governance handed the dataset to another steward.
    event DatasetStewardChanged(
        bytes32 indexed datasetId, address indexed previous, address indexed current
    );

    /// @notice Badge contract deciding who is a steward.
    StewardBadge public immutable badge;
    /// @notice Governed standards (accepted schema versions).
    StandardsRegistry public immutable standards;

    mapping(bytes32 datasetId => Dataset) private _datasets;
    mapping(bytes32 datasetId => mapping(uint32 version => Version)) private _versions;
    /// @dev Every dataset a steward ever held (entries whose steward changed are skipped).
    mapping(address steward => bytes32[]) private _datasetsOf;

    /// @param owner_ The TimelockController.
    /// @param badge_ The StewardBadge.
    /// @param standards_ The StandardsRegistry.
    constructor(address owner_, StewardBadge badge_, StandardsRegistry standards_) Ownable(owner_) {
        badge = badge_;
        standards = standards_;
    }

    modifier onlyDatasetSteward(bytes32 datasetId) {
        _checkDatasetSteward(datasetId);
        _;
    }

    /// @notice Lists a new dataset with its first version. Caller must hold a StewardBadge.
    /// @param datasetId Opaque, unique, non-zero id chosen by the steward.
    /// @param metadataHash Hash of the off-chain description.
    /// @param schemaVersion keccak256 of the schema version label; must be accepted.
    /// @param contentHash Content hash of version 1.
    /// @param price Price of one access pass in CohortToken units (0 = free).
    /// @param accessDuration Seconds of access bought by one purchase.
    function listDataset(
        bytes32 datasetId,
        bytes32 metadataHash,
        bytes32 schemaVersion,
        bytes32 contentHash,
        uint96 price,
        uint64 accessDuration
    ) external {
        if (!badge.isSteward(msg.sender)) revert NotSteward(msg.sender);
        if (datasetId == bytes32(0)) revert InvalidDatasetId();
        if (_datasets[datasetId].steward != address(0)) revert DatasetAlreadyExists(datasetId);
        if (metadataHash == bytes32(0)) revert InvalidHash();
        _checkAccessDuration(accessDuration);

        _datasets[datasetId] = Dataset({
            steward: msg.sender,
            price: price,
            accessDuration: accessDuration,
            latestVersion: 0,
            listed: true,
            delistedByGovernance: false,
            suspended: false,
            metadataHash: metadataHash
        });
        _datasetsOf[msg.sender].push(datasetId);
        emit DatasetListed(datasetId, msg.sender, metadataHash, price, accessDuration);
        _publishVersion(datasetId, contentHash, schemaVersion);
    }

    /// @notice Publishes a new version of a dataset (the latest version is the one queried).
    /// @param datasetId The dataset.
    /// @param contentHash Content hash of the new version.
    /// @param schemaVersion Schema version of the new version; must be accepted.
    /// @return version The new version number.
    function publishVersion(bytes32 datasetId, bytes32 contentHash, bytes32 schemaVersion)
        external
        onlyDatasetSteward(datasetId)
        returns (uint32 version)
    {
        return _publishVersion(datasetId, contentHash, schemaVersion);
    }

    /// @notice Sets the price of one access pass (applies to later purchases only).
    /// @param datasetId The dataset.
    /// @param price New price in CohortToken units.
    function setPrice(bytes32 datasetId, uint96 price) external onlyDatasetSteward(datasetId) {
        _datasets[datasetId].price = price;
        emit DatasetPriceUpdated(datasetId, price);
    }

    /// @notice Sets the access duration bought by one purchase (applies to later purchases).
    /// @param datasetId The dataset.
    /// @param accessDuration Seconds of access per purchase.
    function setAccessDuration(bytes32 datasetId, uint64 accessDuration)
        external
        onlyDatasetSteward(datasetId)
    {
        _checkAccessDuration(accessDuration);
        _datasets[datasetId].accessDuration = accessDuration;
        emit DatasetAccessDurationUpdated(datasetId, accessDuration);
    }

    /// @notice Replaces the metadata hash.
    /// @param datasetId The dataset.
    /// @param metadataHash New metadata hash.
    function setMetadata(bytes32 datasetId, bytes32 metadataHash)
        external
        onlyDatasetSteward(datasetId)
    {
        if (metadataHash == bytes32(0)) revert InvalidHash();
        _datasets[datasetId].metadataHash = metadataHash;
        emit DatasetMetadataUpdated(datasetId, metadataHash);
    }

    /// @notice Delists a dataset: no new purchases. Callable by its steward or by governance.
    /// @param datasetId The dataset.
    function delist(bytes32 datasetId) external {
        Dataset storage d = _existing(datasetId);
        bool byGovernance = msg.sender == owner();
        if (!byGovernance) {
            if (msg.sender != d.steward || !badge.isSteward(msg.sender)) {
                revert NotDatasetStewardOrGovernance(datasetId, msg.sender);
            }
        }
        if (!d.listed) revert DatasetNotListed(datasetId);
        d.listed = false;
        d.delistedByGovernance = byGovernance;
        emit DatasetDelisted(datasetId, msg.sender, byGovernance);
    }

    /// @notice Lists a delisted dataset again. The steward cannot undo a governance delisting.
    /// @param datasetId The dataset.
    function relist(bytes32 datasetId) external {
        Dataset storage d = _existing(datasetId);
        if (msg.sender != owner()) {
            if (msg.sender != d.steward || !badge.isSteward(msg.sender)) {
                revert NotDatasetStewardOrGovernance(datasetId, msg.sender);
            }
            if (d.delistedByGovernance) revert DelistedByGovernance(datasetId);
        }
        if (d.listed) revert DatasetAlreadyListed(datasetId);
        d.listed = true;
        d.delistedByGovernance = false;
        emit DatasetRelisted(datasetId, msg.sender);
    }

    /// @notice Suspends a dataset (governance only): nothing can be bought and every access
    ///         pass already sold stops working (`Marketplace.hasAccess` is false) until the
    ///         suspension is lifted. Passes keep their expiry.
    /// @param datasetId The dataset.
    /// @param suspended True to suspend, false to lift the suspension.
    function setSuspended(bytes32 datasetId, bool suspended) external onlyOwner {
        Dataset storage d = _existing(datasetId);
        if (d.suspended == suspended) revert SuspensionUnchanged(datasetId, suspended);
        d.suspended = suspended;
        emit DatasetSuspended(datasetId, suspended);
    }

    /// @notice Hands a dataset to another steward (governance only), e.g. after its steward
    ///         was removed. The dataset keeps its listing state; a governance delisting still
    ///         needs governance to relist.
    /// @param datasetId The dataset.
    /// @param newSteward A current StewardBadge holder.
    function setDatasetSteward(bytes32 datasetId, address newSteward) external onlyOwner {
        Dataset storage d = _existing(datasetId);
        if (!badge.isSteward(newSteward)) revert NotSteward(newSteward);
        address previous = d.steward;
        d.steward = newSteward;
        _datasetsOf[newSteward].push(datasetId);
        emit DatasetStewardChanged(datasetId, previous, newSteward);
    }

    /// @notice Called by the StewardBadge when a steward's badge is burned: every listed
    ///         dataset the steward still holds is delisted by governance, so it stops selling
    ///         and paying the removed steward (governance can hand it over and relist it).
    /// @param steward The removed steward.
    function onStewardRemoved(address steward) external {
        if (msg.sender != address(badge)) revert NotBadge(msg.sender);
        bytes32[] storage ids = _datasetsOf[steward];
        for (uint256 i = 0; i < ids.length; ++i) {
            Dataset storage d = _datasets[ids[i]];
            if (d.steward != steward || !d.listed) continue;
            d.listed = false;
            d.delistedByGovernance = true;
            emit DatasetDelisted(ids[i], msg.sender, true);
        }
    }

    /// @notice Whether governance suspended `datasetId` (its passes do not work meanwhile).
    /// @param datasetId The dataset.
    function isSuspended(bytes32 datasetId) external view returns (bool) {
        return _datasets[datasetId].suspended;
    }

    /// @notice Always reverts: governance must keep its power to delist.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceDisabled();
    }

    /// @notice Everything the marketplace needs to sell an access pass, in one call.
    /// @param datasetId The dataset.
    /// @return steward Receiver of the steward share (zero if unknown).
    /// @return price Price of one pass.
    /// @return accessDuration Seconds per pass.
    /// @return listed Whether the dataset is currently purchasable (listed, not suspended).
    function purchaseTerms(bytes32 datasetId)
        external
        view
        returns (address steward, uint256 price, uint64 accessDuration, bool listed)
    {
        Dataset storage d = _datasets[datasetId];
        return (d.steward, d.price, d.accessDuration, d.listed && !d.suspended);
    }

    /// @notice A dataset's record.
    /// @param datasetId The dataset.
    function getDataset(bytes32 datasetId) external view returns (Dataset memory) {
        return _existing(datasetId);
    }

    /// @notice One version of a dataset.
    /// @param datasetId The dataset.
    /// @param version Version number (1-based).
    function getVersion(bytes32 datasetId, uint32 version) external view returns (Version memory) {
        Version memory v = _versions[datasetId][version];
        if (v.contentHash == bytes32(0)) revert UnknownVersion(datasetId, version);
        return v;
    }

    /// @notice Whether `datasetId` exists (listed or not).
    /// @param datasetId The dataset.
    function exists(bytes32 datasetId) external view returns (bool) {
        return _datasets[datasetId].steward != address(0);
    }

    function _publishVersion(bytes32 datasetId, bytes32 contentHash, bytes32 schemaVersion)
        private
        returns (uint32 version)
    {
        if (contentHash == bytes32(0)) revert InvalidHash();
        if (!standards.isSchemaAccepted(schemaVersion)) revert SchemaNotAccepted(schemaVersion);
        Dataset storage d = _datasets[datasetId];
        version = d.latestVersion + 1;
        d.latestVersion = version;
        _versions[datasetId][version] = Version({
            contentHash: contentHash,
            schemaVersion: schemaVersion,
            publishedAt: uint64(block.timestamp)
        });
        emit DatasetVersionPublished(datasetId, version, contentHash, schemaVersion);
    }

    function _checkDatasetSteward(bytes32 datasetId) private view {
        Dataset storage d = _existing(datasetId);
        if (msg.sender != d.steward) revert NotDatasetSteward(datasetId, msg.sender);
        if (!badge.isSteward(msg.sender)) revert NotSteward(msg.sender);
    }

    function _existing(bytes32 datasetId) private view returns (Dataset storage d) {
        d = _datasets[datasetId];
        if (d.steward == address(0)) revert UnknownDataset(datasetId);
    }

    function _checkAccessDuration(uint64 accessDuration) private pure {
        if (accessDuration == 0 || accessDuration > MAX_ACCESS_DURATION) {
            revert InvalidAccessDuration(accessDuration);
        }
    }
}
