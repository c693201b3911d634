// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title ResearcherCredential
/// @notice Accreditation of researchers ("safe people"): a non-transferable, revocable
///         credential issued through governance (the owner is the TimelockController), with an
///         optional expiry and the accrediting body's reference (a metadata hash). Buying
///         access requires a valid credential, and the app keeps privacy budgets per
///         credential, so every address of one researcher shares them.
/// @dev A credential names one to MAX_ADDRESSES addresses. Its holder asks for another one
///      (`requestAddress`), and governance approves it (`approveAddress`), the same path as the
///      accreditation itself; the holder may drop any of its addresses but the last, so a
///      rotation is a request, an approval and a removal. An address belongs to at most one
///      credential, ever: it can never be moved to a fresh credential with a fresh budget.
///      Each address carries its own `validUntil` (a copy of the credential's state), so a
///      purchase checks accreditation with one storage read.
contract ResearcherCredential is Ownable {
    /// @notice Most addresses one credential may name.
    uint256 public constant MAX_ADDRESSES = 4;
    /// @notice `validUntil` of an address whose credential does not expire.
    uint64 public constant NO_EXPIRY = type(uint64).max;

    /// @notice One credential.
    struct Credential {
        bytes32 metadataHash;
        uint64 expiresAt;
        bool suspended;
        bool revoked;
        address[] addresses;
    }

    /// @notice What an address is bound to (one slot, the only one a purchase reads).
    struct Binding {
        uint64 credentialId;
        uint64 validUntil;
    }

    /// @notice The address is bound to a credential already (possibly a revoked one).
    error AlreadyBound(address account, uint256 credentialId);
    /// @notice No credential with this id.
    error UnknownCredential(uint256 credentialId);
    /// @notice The caller holds no credential.
    error NotHolder(address account);
    /// @notice The credential was revoked; nothing about it can change any more.
    error CredentialRevoked(uint256 credentialId);
    /// @notice The expiry is in the past.
    error InvalidExpiry(uint64 expiresAt);
    /// @notice The metadata hash is zero.
    error InvalidMetadata();
    /// @notice The credential names MAX_ADDRESSES addresses already.
    error TooManyAddresses(uint256 credentialId);
    /// @notice The holder did not ask for this address.
    error AddressNotRequested(uint256 credentialId, address account);
    /// @notice The last address of a credential cannot be removed.
    error LastAddress(uint256 credentialId);
    /// @notice The address is not one of the caller's credential.
    error NotOwnAddress(uint256 credentialId, address account);
    /// @notice The suspension state did not change.
    error SuspensionUnchanged(uint256 credentialId, bool suspended);
    /// @notice Renouncing ownership would make accreditation impossible.
    error RenounceDisabled();

    /// @notice Governance accredited `holder` (credential `credentialId`).
    event CredentialIssued(
        uint256 indexed credentialId, address indexed holder, bytes32 metadataHash, uint64 expiresAt
    );
    /// @notice Governance revoked the credential, for good.
    event CredentialRevokedBy(uint256 indexed credentialId, address indexed by);
    /// @notice Governance suspended the credential or lifted the suspension.
    event CredentialSuspended(uint256 indexed credentialId, bool suspended);
    /// @notice Governance changed the expiry (0 = none) or the accrediting body's reference.
    event CredentialUpdated(uint256 indexed credentialId, bytes32 metadataHash, uint64 expiresAt);
    /// @notice The holder asked governance to add `account` to its credential.
    event AddressRequested(uint256 indexed credentialId, address indexed account);
    /// @notice `account` now belongs to the credential.
    event AddressAdded(uint256 indexed credentialId, address indexed account);
    /// @notice `account` no longer acts for the credential (it stays bound to it).
    event AddressRemoved(uint256 indexed credentialId, address indexed account);

    /// @notice Binding of each address (credentialId 0 = none).
    mapping(address account => Binding) public bindingOf;
    /// @notice Addresses a holder asked to add, awaiting governance.
    mapping(uint256 credentialId => mapping(address account => bool)) public isRequested;

    mapping(uint256 credentialId => Credential) private _credentials;
    uint64 private _lastId;

    /// @param owner_ The TimelockController (the deploy script may issue first and hand over).
    constructor(address owner_) Ownable(owner_) {}

    /// @notice Accredits `holder`. Governance only.
    /// @param holder The researcher's first address (never bound to a credential before).
    /// @param metadataHash The accrediting body's reference (hash of its decision document).
    /// @param expiresAt Unix second at which the credential lapses (0 = no expiry).
    /// @return credentialId The new credential's id (from 1).
    function issue(address holder, bytes32 metadataHash, uint64 expiresAt)
        external
        onlyOwner
        returns (uint256 credentialId)
    {
        if (metadataHash == bytes32(0)) revert InvalidMetadata();
        _checkExpiry(expiresAt);
        credentialId = ++_lastId;
        Credential storage c = _credentials[credentialId];
        c.metadataHash = metadataHash;
        c.expiresAt = expiresAt;
        emit CredentialIssued(credentialId, holder, metadataHash, expiresAt);
        _bind(c, credentialId, holder);
    }

    /// @notice Revokes a credential for good: none of its addresses is accredited any more,
    ///         and they can never join another credential. Governance only.
    /// @param credentialId The credential.
    function revoke(uint256 credentialId) external onlyOwner {
        Credential storage c = _live(credentialId);
        c.revoked = true;
        _refreshAll(c);
        emit CredentialRevokedBy(credentialId, msg.sender);
    }

    /// @notice Suspends a credential (or lifts the suspension): while suspended none of its
    ///         addresses is accredited. Governance only.
    /// @param credentialId The credential.
    /// @param suspended True to suspend.
    function setSuspended(uint256 credentialId, bool suspended) external onlyOwner {
        Credential storage c = _live(credentialId);
        if (c.suspended == suspended) revert SuspensionUnchanged(credentialId, suspended);
        c.suspended = suspended;
        _refreshAll(c);
        emit CredentialSuspended(credentialId, suspended);
    }

    /// @notice Renews or changes a credential: new expiry (0 = none) and reference.
    ///         Governance only.
    /// @param credentialId The credential.
    /// @param metadataHash The accrediting body's reference.
    /// @param expiresAt New expiry (0 = none).
    function update(uint256 credentialId, bytes32 metadataHash, uint64 expiresAt)
        external
        onlyOwner
    {
        Credential storage c = _live(credentialId);
        if (metadataHash == bytes32(0)) revert InvalidMetadata();
        _checkExpiry(expiresAt);
        c.metadataHash = metadataHash;
        c.expiresAt = expiresAt;
        _refreshAll(c);
        emit CredentialUpdated(credentialId, metadataHash, expiresAt);
    }

    /// @notice Asks governance to add `account` to the caller's credential (e.g. a second
    ///         wallet, or the new one of a rotation). Any address of the credential may ask.
    /// @param account The address to add; must never have been bound to a credential.
    function requestAddress(address account) external {
        uint256 credentialId = _ownCredential();
        _live(credentialId);
        _checkUnbound(account);
        isRequested[credentialId][account] = true;
        emit AddressRequested(credentialId, account);
    }

    /// @notice Adds an address the holder asked for. Governance only.
    /// @param credentialId The credential.
    /// @param account The requested address.
    function approveAddress(uint256 credentialId, address account) external onlyOwner {
        Credential storage c = _live(credentialId);
        if (!isRequested[credentialId][account]) {
            revert AddressNotRequested(credentialId, account);
        }
        delete isRequested[credentialId][account];
        _bind(c, credentialId, account);
    }

    /// @notice Removes one of the caller's credential's addresses (not the last). The address
    ///         stays bound to the credential, so it cannot start over with a fresh one.
    /// @param account The address to remove (may be the caller itself).
    function removeAddress(address account) external {
        uint256 credentialId = _ownCredential();
        if (!_isListed(credentialId, account)) revert NotOwnAddress(credentialId, account);
        Credential storage c = _live(credentialId);
        address[] storage list = c.addresses;
        if (list.length == 1) revert LastAddress(credentialId);
        for (uint256 i = 0; i < list.length; ++i) {
            if (list[i] == account) {
                list[i] = list[list.length - 1];
                list.pop();
                break;
            }
        }
        bindingOf[account].validUntil = 0;
        emit AddressRemoved(credentialId, account);
    }

    /// @notice Whether `account` acts for a valid credential now: issued, not revoked, not
    ///         suspended, not expired, and the address not removed.
    /// @param account The address.
    function isAccredited(address account) external view returns (bool) {
        // forge-lint: disable-next-line(block-timestamp)
        return bindingOf[account].validUntil > block.timestamp;
    }

    /// @notice The credential `account` acts for (0 = none, or removed from it).
    /// @param account The address.
    function credentialOf(address account) external view returns (uint256) {
        Binding memory b = bindingOf[account];
        return _isListed(b.credentialId, account) ? b.credentialId : 0;
    }

    /// @notice A credential's record.
    /// @param credentialId The credential.
    function getCredential(uint256 credentialId) external view returns (Credential memory) {
        return _existing(credentialId);
    }

    /// @notice Number of credentials ever issued (ids are 1..count).
    function credentialCount() external view returns (uint256) {
        return _lastId;
    }

    /// @notice Always reverts: governance must always be able to accredit and revoke.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceDisabled();
    }

    /// @dev The credential the caller currently acts for (a removed address acts for none).
    function _ownCredential() private view returns (uint256 credentialId) {
        credentialId = bindingOf[msg.sender].credentialId;
        if (!_isListed(credentialId, msg.sender)) revert NotHolder(msg.sender);
    }

    function _bind(Credential storage c, uint256 credentialId, address account) private {
        _checkUnbound(account);
        if (c.addresses.length >= MAX_ADDRESSES) revert TooManyAddresses(credentialId);
        c.addresses.push(account);
        bindingOf[account] = Binding({
            // Ids count up from 1 by one per issue: a uint64 never overflows.
            // forge-lint: disable-next-line(unsafe-typecast)
            credentialId: uint64(credentialId),
            validUntil: _validUntil(c)
        });
        emit AddressAdded(credentialId, account);
    }

    /// @dev Copies the credential's state into every current address's binding.
    function _refreshAll(Credential storage c) private {
        uint64 validUntil = _validUntil(c);
        address[] storage list = c.addresses;
        for (uint256 i = 0; i < list.length; ++i) {
            bindingOf[list[i]].validUntil = validUntil;
        }
    }

    function _validUntil(Credential storage c) private view returns (uint64) {
        if (c.revoked || c.suspended) return 0;
        return c.expiresAt == 0 ? NO_EXPIRY : c.expiresAt;
    }

    function _isListed(uint256 credentialId, address account) private view returns (bool) {
        if (credentialId == 0) return false;
        address[] storage list = _credentials[credentialId].addresses;
        for (uint256 i = 0; i < list.length; ++i) {
            if (list[i] == account) return true;
        }
        return false;
    }

    function _checkUnbound(address account) private view {
        uint256 bound = bindingOf[account].credentialId;
        if (bound != 0 || account == address(0)) revert AlreadyBound(account, bound);
    }

    function _checkExpiry(uint64 expiresAt) private view {
        // forge-lint: disable-next-line(block-timestamp)
        if (expiresAt != 0 && expiresAt <= block.timestamp) revert InvalidExpiry(expiresAt);
    }

    function _existing(uint256 credentialId) private view returns (Credential storage c) {
        if (credentialId == 0 || credentialId > _lastId) revert UnknownCredential(credentialId);
        c = _credentials[credentialId];
    }

    function _live(uint256 credentialId) private view returns (Credential storage c) {
        c = _existing(credentialId);
        if (c.revoked) revert CredentialRevoked(credentialId);
    }
}
