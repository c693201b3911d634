// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice A leaf a handler posted and may claim later (or has claimed), with its proof.
struct PendingClaim {
    address account;
    uint256 epoch;
    uint256 amount;
    bytes32[] proof;
}
