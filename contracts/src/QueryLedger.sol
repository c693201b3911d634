// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title QueryLedger
/// @notice Public anchor of query receipts: per epoch, the operator posts the Merkle root of
///         that epoch's receipts, so anybody can check that a published result came from a
///         given query, dataset version and consent snapshot.
/// @dev A receipt is identified by its hash (`receiptHash`, computed off chain over the
///      canonical receipt: query hash, dataset version hash, consent snapshot block,
///      parameters, result hash, included-person count). The tree is
///      `StandardMerkleTree.of(receiptHashes.map(h => [h]), ["bytes32"])`, so
///      `leaf = keccak256(bytes.concat(keccak256(abi.encode(receiptHash))))`.
///      DEFAULT_ADMIN_ROLE is the TimelockController, which grants and revokes OPERATOR_ROLE.
contract QueryLedger is AccessControl {
    /// @notice Anchors receipt roots.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    /// @notice An anchored epoch.
    struct Anchor {
        bytes32 root;
        uint64 receiptCount;
        uint64 anchoredAt;
    }

    /// @notice The Merkle root is zero.
    error InvalidRoot();
    /// @notice An anchor must cover at least one receipt.
    error EmptyEpoch();
    /// @notice The epoch is anchored already; anchors are immutable.
    error EpochAlreadyAnchored(uint256 epoch);

    /// @notice The receipts of `epoch` were anchored.
    event ReceiptsAnchored(uint256 indexed epoch, bytes32 root, uint64 receiptCount);

    mapping(uint256 epoch => Anchor) private _anchors;

    /// @param admin The TimelockController (DEFAULT_ADMIN_ROLE).
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Anchors the receipt root of `epoch`. Only OPERATOR_ROLE.
    /// @param epoch The epoch number.
    /// @param root Root of the StandardMerkleTree over ["bytes32"] receipt hashes.
    /// @param receiptCount Number of receipts in the tree.
    function anchor(uint256 epoch, bytes32 root, uint64 receiptCount)
        external
        onlyRole(OPERATOR_ROLE)
    {
        if (root == bytes32(0)) revert InvalidRoot();
        if (receiptCount == 0) revert EmptyEpoch();
        Anchor storage a = _anchors[epoch];
        if (a.root != bytes32(0)) revert EpochAlreadyAnchored(epoch);
        a.root = root;
        a.receiptCount = receiptCount;
        a.anchoredAt = uint64(block.timestamp);
        emit ReceiptsAnchored(epoch, root, receiptCount);
    }

    /// @notice The anchor of `epoch` (zero root if none).
    /// @param epoch The epoch.
    function anchorOf(uint256 epoch) external view returns (Anchor memory) {
        return _anchors[epoch];
    }

    /// @notice Whether `receiptHash` is in the tree anchored for `epoch`.
    /// @param epoch The epoch.
    /// @param receiptHash The receipt's hash.
    /// @param proof StandardMerkleTree proof.
    /// @return True when included; false for a wrong proof or an epoch never anchored.
    function verifyReceipt(uint256 epoch, bytes32 receiptHash, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        bytes32 root = _anchors[epoch].root;
        return root != bytes32(0) && MerkleProof.verifyCalldata(proof, root, leafOf(receiptHash));
    }

    /// @notice The StandardMerkleTree ["bytes32"] leaf of `receiptHash`.
    /// @param receiptHash The receipt's hash.
    function leafOf(bytes32 receiptHash) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(receiptHash))));
    }
}
