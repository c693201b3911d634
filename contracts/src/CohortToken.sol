// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title CohortToken
/// @notice Payment and reward token of OpenCohort (ERC-20 with ERC-2612 permit).
/// @dev Fixed supply: the whole supply is minted once, in the constructor, to the initial
///      distribution. There is no mint function and no owner, so nobody (not even governance)
///      can inflate the supply afterwards; rewards are funded by purchases, not by emission.
///      EIP-712 domain: name = token name, version "1".
contract CohortToken is ERC20, ERC20Permit {
    /// @notice The recipients and amounts arrays differ in length.
    error DistributionLengthMismatch(uint256 recipients, uint256 amounts);
    /// @notice The initial distribution is empty or mints nothing.
    error EmptyDistribution();

    /// @param name_ Token name (also the EIP-712 domain name used by permit).
    /// @param symbol_ Token symbol.
    /// @param recipients Initial holders.
    /// @param amounts Amount minted to each recipient (18 decimals).
    constructor(
        string memory name_,
        string memory symbol_,
        address[] memory recipients,
        uint256[] memory amounts
    ) ERC20(name_, symbol_) ERC20Permit(name_) {
        if (recipients.length != amounts.length) {
            revert DistributionLengthMismatch(recipients.length, amounts.length);
        }
        for (uint256 i = 0; i < recipients.length; ++i) {
            _mint(recipients[i], amounts[i]);
        }
        if (totalSupply() == 0) revert EmptyDistribution();
    }
}
