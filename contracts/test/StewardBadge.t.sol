// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {BaseTest} from "./utils/Base.t.sol";
import {StewardBadge} from "../src/StewardBadge.sol";

contract StewardBadgeTest is BaseTest {
    function test_initialStewards_haveOneSelfDelegatedVoteEach() public view {
        assertEq(badge.stewardCount(), 3);
        assertEq(badge.getVotes(steward1), 1);
        assertEq(badge.delegates(steward1), steward1);
        assertTrue(badge.isSteward(steward2));
        assertFalse(badge.isSteward(outsider));
        assertEq(badge.badgeOf(steward1), 1);
        assertEq(badge.owner(), address(timelock));
        assertEq(badge.getPastTotalSupply(block.number - 1), 3);
    }

    function test_mint_byTimelockAdmitsSteward() public {
        vm.expectEmit(address(badge));
        emit StewardBadge.StewardAdmitted(outsider, 4);
        vm.prank(address(timelock));
        uint256 id = badge.mint(outsider);
        assertEq(id, 4);
        assertEq(badge.ownerOf(4), outsider);
        assertEq(badge.getVotes(outsider), 1);
    }

    function test_mint_revertsWhenNotOwner() public {
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, steward1)
        );
        vm.prank(steward1);
        badge.mint(outsider);
    }

    function test_mint_revertsWhenAlreadySteward() public {
        vm.expectRevert(abi.encodeWithSelector(StewardBadge.AlreadySteward.selector, steward1));
        vm.prank(address(timelock));
        badge.mint(steward1);
    }

    function test_burn_removesStewardAndVote() public {
        vm.expectEmit(address(badge));
        emit StewardBadge.StewardRemoved(steward2, 2);
        vm.prank(address(timelock));
        badge.burn(steward2);
        assertFalse(badge.isSteward(steward2));
        assertEq(badge.getVotes(steward2), 0);
        assertEq(badge.stewardCount(), 2);
        // Readmission gets a fresh badge and the vote back.
        vm.prank(address(timelock));
        assertEq(badge.mint(steward2), 4);
        assertEq(badge.getVotes(steward2), 1);
    }

    function test_burn_revertsWhenNotSteward() public {
        vm.expectRevert(abi.encodeWithSelector(StewardBadge.NotSteward.selector, outsider));
        vm.prank(address(timelock));
        badge.burn(outsider);
    }

    function test_burn_revertsWhenNotOwner() public {
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, steward1)
        );
        vm.prank(steward1);
        badge.burn(steward2);
    }

    function test_transferFrom_revertsNonTransferable() public {
        vm.expectRevert(StewardBadge.BadgeNonTransferable.selector);
        vm.prank(steward1);
        badge.transferFrom(steward1, outsider, 1);
        vm.expectRevert(StewardBadge.BadgeNonTransferable.selector);
        vm.prank(steward1);
        badge.safeTransferFrom(steward1, outsider, 1);
    }

    function test_approve_revertsNonTransferable() public {
        vm.expectRevert(StewardBadge.BadgeNonTransferable.selector);
        vm.prank(steward1);
        badge.approve(outsider, 1);
        vm.expectRevert(StewardBadge.BadgeNonTransferable.selector);
        vm.prank(steward1);
        badge.setApprovalForAll(outsider, true);
    }

    function test_delegate_revertsDelegationDisabled() public {
        vm.expectRevert(StewardBadge.DelegationDisabled.selector);
        vm.prank(steward1);
        badge.delegate(steward2);
        vm.expectRevert(StewardBadge.DelegationDisabled.selector);
        badge.delegateBySig(steward2, 0, block.timestamp, 27, bytes32(0), bytes32(0));
    }

    function test_renounceOwnership_reverts() public {
        vm.expectRevert(StewardBadge.RenounceDisabled.selector);
        vm.prank(address(timelock));
        badge.renounceOwnership();
    }

    function test_clock_isTimestamp() public view {
        assertEq(badge.clock(), block.timestamp);
        assertEq(badge.CLOCK_MODE(), "mode=timestamp");
    }
}
