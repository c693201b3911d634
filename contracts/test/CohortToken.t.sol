// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {CohortToken} from "../src/CohortToken.sol";

contract CohortTokenTest is Test {
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");

    function _deploy(address[] memory to, uint256[] memory amounts) internal returns (CohortToken) {
        return new CohortToken("OpenCohort", "COHORT", to, amounts);
    }

    function test_constructor_mintsInitialDistribution() public {
        address[] memory to = new address[](2);
        to[0] = alice;
        to[1] = bob;
        uint256[] memory amounts = new uint256[](2);
        amounts[0] = 10 ether;
        amounts[1] = 5 ether;
        CohortToken token = _deploy(to, amounts);
        assertEq(token.balanceOf(alice), 10 ether);
        assertEq(token.balanceOf(bob), 5 ether);
        assertEq(token.totalSupply(), 15 ether);
        assertEq(token.name(), "OpenCohort");
        assertEq(token.symbol(), "COHORT");
        assertEq(token.decimals(), 18);
    }

    function test_constructor_revertsOnLengthMismatch() public {
        address[] memory to = new address[](2);
        uint256[] memory amounts = new uint256[](1);
        vm.expectRevert(
            abi.encodeWithSelector(CohortToken.DistributionLengthMismatch.selector, 2, 1)
        );
        _deploy(to, amounts);
    }

    function test_constructor_revertsOnEmptyDistribution() public {
        vm.expectRevert(CohortToken.EmptyDistribution.selector);
        _deploy(new address[](0), new uint256[](0));
        address[] memory to = new address[](1);
        to[0] = alice;
        vm.expectRevert(CohortToken.EmptyDistribution.selector);
        _deploy(to, new uint256[](1));
    }

    function testFuzz_permit_setsAllowance(uint256 value, uint256 deadline) public {
        deadline = bound(deadline, block.timestamp, type(uint64).max);
        (address owner, uint256 key) = makeAddrAndKey("owner");
        address[] memory to = new address[](1);
        to[0] = owner;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = 1 ether;
        CohortToken token = _deploy(to, amounts);
        bytes32 digest = keccak256(
            abi.encodePacked(
                "\x19\x01",
                token.DOMAIN_SEPARATOR(),
                keccak256(
                    abi.encode(
                        keccak256(
                            "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
                        ),
                        owner,
                        bob,
                        value,
                        0,
                        deadline
                    )
                )
            )
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        token.permit(owner, bob, value, deadline, v, r, s);
        assertEq(token.allowance(owner, bob), value);
        assertEq(token.nonces(owner), 1);
        vm.expectRevert();
        token.permit(owner, bob, value, deadline, v, r, s);
    }

    function test_permit_revertsWhenExpired() public {
        (address owner, uint256 key) = makeAddrAndKey("owner");
        address[] memory to = new address[](1);
        to[0] = owner;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = 1 ether;
        CohortToken token = _deploy(to, amounts);
        vm.warp(1000);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, 999));
        token.permit(owner, bob, 1, 999, v, r, s);
    }
}
