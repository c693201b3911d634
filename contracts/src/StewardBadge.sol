// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721Votes} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721Votes.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @notice Told by StewardBadge about every removed steward (implemented by DatasetRegistry).
interface IStewardRemovalHook {
    /// @notice Called by the badge when `steward`'s badge is burned.
    function onStewardRemoved(address steward) external;
}

/// @title StewardBadge
/// @notice Non-transferable membership badge of a data steward: one steward, one badge, one
///         vote in StewardGovernor. Admission (mint) and removal (burn) are decided by
///         governance: the owner is the TimelockController.
/// @dev Votes are counted by timestamp (ERC-6372 `mode=timestamp`): block numbers mean different
///      things on different L2s, seconds do not. Each steward is always its own delegate: the
///      badge self-delegates on mint and delegation cannot be moved, so a vote can never be
///      concentrated in another address. Burning a badge tells the DatasetRegistry, which
///      delists every dataset the removed steward still holds.

contract StewardBadge is ERC721, EIP712, ERC721Votes, Ownable {
    /// @notice Badges cannot be transferred or approved.
    error BadgeNonTransferable();
    /// @notice Votes stay with the steward that holds the badge.
    error DelegationDisabled();
    /// @notice The address already holds a badge.
    error AlreadySteward(address account);
    /// @notice The address holds no badge.
    error NotSteward(address account);
    /// @notice Renouncing ownership would make steward admission impossible.
    error RenounceDisabled();
    /// @notice The removal hook can be set once only.
    error RemovalHookAlreadySet();

    /// @notice A steward was admitted.
    event StewardAdmitted(address indexed steward, uint256 indexed tokenId);
    /// @notice A steward was removed.
    event StewardRemoved(address indexed steward, uint256 indexed tokenId);

    /// @notice The badge id held by each steward (0 = none; ids start at 1).
    mapping(address steward => uint256 tokenId) public badgeOf;

    uint256 private _nextTokenId = 1;

    /// @notice Told about every removed steward (the DatasetRegistry); set once at deploy.
    IStewardRemovalHook public removalHook;

    /// @param initialOwner Owner allowed to mint and burn: the deploy script mints the initial
    ///        stewards and then hands ownership to the timelock.
    constructor(address initialOwner)
        ERC721("OpenCohort Steward Badge", "STEWARD")
        EIP712("OpenCohort Steward Badge", "1")
        Ownable(initialOwner)
    {}

    /// @notice Admits `steward`: mints a badge, which also gives it one vote (self-delegated).
    /// @param steward The address to admit.
    /// @return tokenId The new badge id.
    function mint(address steward) external onlyOwner returns (uint256 tokenId) {
        if (badgeOf[steward] != 0) revert AlreadySteward(steward);
        tokenId = _nextTokenId++;
        badgeOf[steward] = tokenId;
        _mint(steward, tokenId);
        emit StewardAdmitted(steward, tokenId);
    }

    /// @notice Removes `steward`: burns its badge and with it its vote.
    /// @param steward The address to remove.
    function burn(address steward) external onlyOwner {
        uint256 tokenId = badgeOf[steward];
        if (tokenId == 0) revert NotSteward(steward);
        delete badgeOf[steward];
        _burn(tokenId);
        emit StewardRemoved(steward, tokenId);
        if (address(removalHook) != address(0)) removalHook.onStewardRemoved(steward);
    }

    /// @notice Sets the contract told about removed stewards (once; the deploy script wires
    ///         the DatasetRegistry before handing ownership to the timelock).
    /// @param hook The DatasetRegistry.
    function setRemovalHook(IStewardRemovalHook hook) external onlyOwner {
        if (address(removalHook) != address(0)) revert RemovalHookAlreadySet();
        removalHook = hook;
    }

    /// @notice ERC-6372 clock: votes are checkpointed by timestamp.
    function clock() public view override returns (uint48) {
        return uint48(block.timestamp);
    }

    /// @notice ERC-6372 clock mode: timestamps.
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @notice Whether `account` currently holds a badge.
    /// @param account The address to check.
    /// @return True for a steward.
    function isSteward(address account) external view returns (bool) {
        return badgeOf[account] != 0;
    }

    /// @notice Number of stewards (badges in existence), i.e. the total voting power.
    function stewardCount() external view returns (uint256) {
        return _getTotalSupply();
    }

    /// @notice Always reverts: badges are not transferable, so nothing can be approved.
    function approve(address, uint256) public pure override {
        revert BadgeNonTransferable();
    }

    /// @notice Always reverts: badges are not transferable, so nothing can be approved.
    function setApprovalForAll(address, bool) public pure override {
        revert BadgeNonTransferable();
    }

    /// @notice Always reverts: a steward always votes with its own badge.
    function delegate(address) public pure override {
        revert DelegationDisabled();
    }

    /// @notice Always reverts: a steward always votes with its own badge.
    function delegateBySig(address, uint256, uint256, uint8, bytes32, bytes32)
        public
        pure
        override
    {
        revert DelegationDisabled();
    }

    /// @notice Always reverts: governance must always be able to admit and remove stewards.
    function renounceOwnership() public view override onlyOwner {
        revert RenounceDisabled();
    }

    /// @dev Blocks transfers (only mint and burn pass) and self-delegates on first mint so a
    ///      new steward can vote without a second transaction.
    function _update(address to, uint256 tokenId, address auth)
        internal
        override(ERC721, ERC721Votes)
        returns (address from)
    {
        from = super._update(to, tokenId, auth);
        if (from != address(0) && to != address(0)) revert BadgeNonTransferable();
        if (to != address(0) && delegates(to) == address(0)) _delegate(to, to);
    }

    function _increaseBalance(address account, uint128 amount)
        internal
        override(ERC721, ERC721Votes)
    {
        super._increaseBalance(account, amount);
    }
}
