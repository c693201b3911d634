// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";

/// @notice Builds small Merkle trees in Solidity with the same leaf encoding and sorted-pair
///         hashing as the JS StandardMerkleTree (OpenZeppelin merkle-tree) (the layout differs, but
///         any such tree verifies with OZ MerkleProof). Compatibility with the JS library itself
///         is proven by the committed fixture (test/fixtures/merkle.json).
library Merkle {
    function leaf(address account, uint256 amount) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account, amount))));
    }

    function rootOf(bytes32[] memory leaves) internal pure returns (bytes32) {
        require(leaves.length > 0, "empty tree");
        bytes32[] memory level = leaves;
        while (level.length > 1) {
            level = _up(level);
        }
        return level[0];
    }

    function proofOf(bytes32[] memory leaves, uint256 index)
        internal
        pure
        returns (bytes32[] memory proof)
    {
        bytes32[] memory path = new bytes32[](256);
        uint256 depth;
        bytes32[] memory level = leaves;
        while (level.length > 1) {
            uint256 sibling = index ^ 1;
            if (sibling < level.length) path[depth++] = level[sibling];
            level = _up(level);
            index /= 2;
        }
        proof = new bytes32[](depth);
        for (uint256 i = 0; i < depth; ++i) {
            proof[i] = path[i];
        }
    }

    /// @dev An odd last node is promoted unchanged (it then has no sibling in the proof).
    function _up(bytes32[] memory level) private pure returns (bytes32[] memory next) {
        next = new bytes32[]((level.length + 1) / 2);
        for (uint256 i = 0; i < next.length; ++i) {
            uint256 l = 2 * i;
            next[i] = l + 1 < level.length
                ? Hashes.commutativeKeccak256(level[l], level[l + 1])
                : level[l];
        }
    }
}
