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
///      Epochs are anchored in increasing order, so an anchor can never be slipped in for an
///      epoch before the latest. An anchor posted for a future epoch blocks the real ones until
///      governance removes it (`removeLatestAnchor` restores the epoch before it).
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
    /// @notice Epochs are anchored in increasing order.
    error EpochOutOfOrder(uint256 epoch, uint256 lastEpoch);
    /// @notice Nothing is anchored.
    error NothingAnchored();

    /// @notice The receipts of `epoch` were anchored.
    event ReceiptsAnchored(uint256 indexed epoch, bytes32 root, uint64 receiptCount);
    /// @notice Governance removed the anchor of `epoch` (the latest one).
    event AnchorRemoved(uint256 indexed epoch);

    mapping(uint256 epoch => Anchor) private _anchors;
    /// @notice The latest anchored epoch (0 = none; epochs start at 1).
    uint256 public lastEpoch;
    mapping(uint256 epoch => uint256 previous) private _previousEpoch;

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
        uint256 last = lastEpoch;
        if (epoch <= last) revert EpochOutOfOrder(epoch, last);
        _previousEpoch[epoch] = last;
        lastEpoch = epoch;
        a.root = root;
        a.receiptCount = receiptCount;
        a.anchoredAt = uint64(block.timestamp);
        emit ReceiptsAnchored(epoch, root, receiptCount);
    }

    /// @notice Removes the latest anchor (e.g. one posted for a future epoch) and makes the
    ///         epoch before it the latest again. Governance only.
    function removeLatestAnchor() external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 epoch = lastEpoch;
        if (epoch == 0) revert NothingAnchored();
        delete _anchors[epoch];
        lastEpoch = _previousEpoch[epoch];
        emit AnchorRemoved(epoch);
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
