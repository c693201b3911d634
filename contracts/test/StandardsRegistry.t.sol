// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {BaseTest} from "./utils/Base.t.sol";
import {StandardsRegistry} from "../src/StandardsRegistry.sol";

contract StandardsRegistryTest is BaseTest {
    function test_defaults() public view {
        assertEq(standards.minCellSize(), 11);
        assertEq(standards.roundingBase(), 5);
        assertEq(standards.contributionCap(), 10);
        assertEq(standards.epsilonPerQuery(), 0.1e18);
        assertEq(standards.epsilonBudget(), 5e18);
        (uint16 p, uint16 s, uint16 t, address tr) = standards.feeSplit();
        assertEq((uint256(p)), uint256(3000));
        assertEq(uint256(s), 6000);
        assertEq(uint256(t), 1000);
        assertEq(tr, treasury);
        assertEq(standards.treasury(), treasury);
        assertTrue(standards.isSchemaAccepted(SCHEMA_V1));
        assertFalse(standards.isSchemaAccepted(SCHEMA_V2));
        assertEq(standards.owner(), address(timelock));
    }

    function test_constructor_emitsInitialState() public {
        bytes32[] memory schemas = new bytes32[](1);
        schemas[0] = SCHEMA_V1;
        vm.expectEmit();
        emit StandardsRegistry.MinCellSizeUpdated(0, 11);
        vm.expectEmit();
        emit StandardsRegistry.RoundingBaseUpdated(0, 5);
        vm.expectEmit();
        emit StandardsRegistry.ContributionCapUpdated(0, 10);
        vm.expectEmit();
        emit StandardsRegistry.EpsilonUpdated(0.1e18, 5e18);
        vm.expectEmit();
        emit StandardsRegistry.FeeSplitUpdated(3000, 6000, 1000);
        vm.expectEmit();
        emit StandardsRegistry.TreasuryUpdated(address(0), treasury);
        vm.expectEmit();
        emit StandardsRegistry.SchemaVersionSet(SCHEMA_V1, true);
        new StandardsRegistry(address(timelock), treasury, schemas, guardian);
    }

    function test_constructor_revertsOnZeroTreasury() public {
        vm.expectRevert(StandardsRegistry.InvalidTreasury.selector);
        new StandardsRegistry(address(timelock), address(0), new bytes32[](0), guardian);
    }

    function test_setMinCellSize_updatesAndEmits() public {
        vm.expectEmit(address(standards));
        emit StandardsRegistry.MinCellSizeUpdated(11, 20);
        vm.prank(address(timelock));
        standards.setMinCellSize(20);
        assertEq(standards.minCellSize(), 20);
    }

    function testFuzz_setMinCellSize_validatesBounds(uint32 k) public {
        uint32 ceiling = standards.MIN_CELL_SIZE_CEILING();
        vm.prank(address(timelock));
        if (k < 2 || k > ceiling) {
            vm.expectRevert(
                abi.encodeWithSelector(StandardsRegistry.MinCellSizeOutOfRange.selector, k)
            );
            standards.setMinCellSize(k);
        } else {
            standards.setMinCellSize(k);
            assertEq(standards.minCellSize(), k);
        }
    }

    function test_setMinCellSize_revertsBelowTwo() public {
        vm.expectRevert(abi.encodeWithSelector(StandardsRegistry.MinCellSizeOutOfRange.selector, 1));
        vm.prank(address(timelock));
        standards.setMinCellSize(1);
    }

    function test_setMinCellSize_revertsWhenNotOwner() public {
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, steward1)
        );
        vm.prank(steward1);
        standards.setMinCellSize(20);
    }

    function test_setRoundingBase_updatesAndEmits() public {
        vm.expectEmit(address(standards));
        emit StandardsRegistry.RoundingBaseUpdated(5, 10);
        vm.prank(address(timelock));
        standards.setRoundingBase(10);
        assertEq(standards.roundingBase(), 10);
    }

    function test_setRoundingBase_revertsOutOfRange() public {
        vm.startPrank(address(timelock));
        vm.expectRevert(
            abi.encodeWithSelector(StandardsRegistry.RoundingBaseOutOfRange.selector, 0)
        );
        standards.setRoundingBase(0);
        vm.expectRevert(
            abi.encodeWithSelector(StandardsRegistry.RoundingBaseOutOfRange.selector, 1001)
        );
        standards.setRoundingBase(1001);
        vm.stopPrank();
    }

    function test_setRoundingBase_revertsWhenNotOwner() public {
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider)
        );
        vm.prank(outsider);
        standards.setRoundingBase(10);
    }

    function test_setContributionCap_updatesAndEmits() public {
        vm.expectEmit(address(standards));
        emit StandardsRegistry.ContributionCapUpdated(10, 3);
        vm.prank(address(timelock));
        standards.setContributionCap(3);
        assertEq(standards.contributionCap(), 3);
    }

    function testFuzz_setContributionCap_validatesBounds(uint32 cap) public {
        uint32 ceiling = standards.MAX_CONTRIBUTION_CAP();
        vm.prank(address(timelock));
        if (cap == 0 || cap > ceiling) {
            vm.expectRevert(
                abi.encodeWithSelector(StandardsRegistry.ContributionCapOutOfRange.selector, cap)
            );
            standards.setContributionCap(cap);
            assertEq(standards.contributionCap(), 10);
        } else {
            standards.setContributionCap(cap);
            assertEq(standards.contributionCap(), cap);
        }
    }

    function test_setContributionCap_revertsWhenNotOwner() public {
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider)
        );
        vm.prank(outsider);
        standards.setContributionCap(3);
    }

    function test_setEpsilon_updatesAndEmits() public {
        vm.expectEmit(address(standards));
        emit StandardsRegistry.EpsilonUpdated(0.5e18, 10e18);
        vm.prank(address(timelock));
        standards.setEpsilon(0.5e18, 10e18);
        assertEq(standards.epsilonPerQuery(), 0.5e18);
        assertEq(standards.epsilonBudget(), 10e18);
    }

    function testFuzz_setEpsilon_validates(uint128 perQuery, uint128 budget) public {
        bool valid = perQuery != 0 && perQuery <= budget && budget <= standards.MAX_EPSILON_BUDGET();
        vm.prank(address(timelock));
        if (!valid) {
            vm.expectRevert(
                abi.encodeWithSelector(StandardsRegistry.InvalidEpsilon.selector, perQuery, budget)
            );
        }
        standards.setEpsilon(perQuery, budget);
        if (valid) assertEq(standards.epsilonBudget(), budget);
    }

    function test_setEpsilon_revertsWhenNotOwner() public {
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider)
        );
        vm.prank(outsider);
        standards.setEpsilon(1, 1);
    }

    function test_setFeeSplit_updatesAndEmits() public {
        vm.expectEmit(address(standards));
        emit StandardsRegistry.FeeSplitUpdated(5000, 4000, 1000);
        vm.prank(address(timelock));
        standards.setFeeSplit(5000, 4000, 1000);
        (uint16 p, uint16 s, uint16 t,) = standards.feeSplit();
        assertEq((uint256(p)), uint256(5000));
        assertEq(uint256(s), 4000);
        assertEq(uint256(t), 1000);
    }

    function testFuzz_setFeeSplit_mustSumToBps(uint16 p, uint16 s, uint16 t) public {
        vm.prank(address(timelock));
        if (uint256(p) + s + t != 10_000) {
            vm.expectRevert(
                abi.encodeWithSelector(StandardsRegistry.InvalidFeeSplit.selector, p, s, t)
            );
            standards.setFeeSplit(p, s, t);
        } else {
            standards.setFeeSplit(p, s, t);
        }
    }

    function testFuzz_setFeeSplit_acceptsEveryValidSplit(uint16 p, uint16 t) public {
        p = uint16(bound(p, 0, 10_000));
        t = uint16(bound(t, 0, 10_000 - p));
        uint16 s = 10_000 - p - t;
        vm.prank(address(timelock));
        standards.setFeeSplit(p, s, t);
        (uint16 p2, uint16 s2, uint16 t2,) = standards.feeSplit();
        assertEq(uint256(p2) + s2 + t2, 10_000);
        assertEq(p2, p);
        assertEq(t2, t);
    }

    function test_setFeeSplit_revertsWhenNotOwner() public {
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider)
        );
        vm.prank(outsider);
        standards.setFeeSplit(5000, 4000, 1000);
    }

    function test_setTreasury_updatesAndEmits() public {
        vm.expectEmit(address(standards));
        emit StandardsRegistry.TreasuryUpdated(treasury, outsider);
        vm.prank(address(timelock));
        standards.setTreasury(outsider);
        assertEq(standards.treasury(), outsider);
    }

    function test_setTreasury_revertsOnZero() public {
        vm.expectRevert(StandardsRegistry.InvalidTreasury.selector);
        vm.prank(address(timelock));
        standards.setTreasury(address(0));
    }

    function test_setTreasury_revertsWhenNotOwner() public {
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider)
        );
        vm.prank(outsider);
        standards.setTreasury(outsider);
    }

    function test_setSchemaAccepted_acceptsAndWithdraws() public {
        vm.startPrank(address(timelock));
        vm.expectEmit(address(standards));
        emit StandardsRegistry.SchemaVersionSet(SCHEMA_V2, true);
        standards.setSchemaAccepted(SCHEMA_V2, true);
        assertTrue(standards.isSchemaAccepted(SCHEMA_V2));
        vm.expectEmit(address(standards));
        emit StandardsRegistry.SchemaVersionSet(SCHEMA_V2, false);
        standards.setSchemaAccepted(SCHEMA_V2, false);
        assertFalse(standards.isSchemaAccepted(SCHEMA_V2));
        vm.stopPrank();
    }

    function test_setSchemaAccepted_revertsOnZeroHash() public {
        vm.expectRevert(StandardsRegistry.InvalidSchemaVersion.selector);
        vm.prank(address(timelock));
        standards.setSchemaAccepted(bytes32(0), true);
    }

    function test_setSchemaAccepted_revertsWhenNotOwner() public {
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, steward1)
        );
        vm.prank(steward1);
        standards.setSchemaAccepted(SCHEMA_V2, true);
    }

    function test_renounceOwnership_reverts() public {
        vm.expectRevert(StandardsRegistry.RenounceDisabled.selector);
        vm.prank(address(timelock));
        standards.renounceOwnership();
    }
}
