// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {BaseTest} from "../utils/Base.t.sol";
import {StandardsHandler} from "./handlers/StandardsHandler.sol";

/// @notice Only the timelock changes the standards, and they always stay within bounds.
contract StandardsInvariantsTest is BaseTest {
    StandardsHandler internal handler;

    function setUp() public override {
        super.setUp();
        address[] memory callers = new address[](5);
        callers[0] = address(timelock);
        callers[1] = steward1;
        callers[2] = address(governor);
        callers[3] = outsider;
        callers[4] = address(deployScript);
        handler = new StandardsHandler(standards, callers);
        targetContract(address(handler));
    }

    /// Every call the handler made either changed the standards (timelock), was rejected, or
    /// is counted as an unauthorized success (which the invariant below forbids).
    function afterInvariant() public view {
        assertGt(handler.attempts(), 0, "no call made");
        assertEq(
            handler.attempts(),
            handler.timelockChanges() + handler.rejections() + handler.unauthorizedSuccesses(),
            "calls unaccounted"
        );
    }

    function invariant_onlyTimelockChangesStandards() public view {
        assertEq(handler.unauthorizedSuccesses(), 0, "a non-timelock caller changed standards");
        assertEq(standards.owner(), address(timelock));
        assertEq(standards.minCellSize(), handler.k());
        assertEq(standards.roundingBase(), handler.roundingBase());
        assertEq(standards.epsilonPerQuery(), handler.epsilonPerQuery());
        assertEq(standards.epsilonBudget(), handler.epsilonBudget());
        (uint16 p, uint16 s, uint16 t, address tr) = standards.feeSplit();
        assertEq(p, handler.patientsBps());
        assertEq(s, handler.stewardBps());
        assertEq(t, handler.treasuryBps());
        assertEq(tr, handler.treasury());
        for (uint256 i = 0; i < handler.schemaCount(); ++i) {
            bytes32 schema = handler.schemas(i);
            assertEq(standards.isSchemaAccepted(schema), handler.schemaAccepted(schema));
        }
    }

    function invariant_standardsWithinBounds() public view {
        assertGe(standards.minCellSize(), 2);
        assertLe(standards.minCellSize(), standards.MIN_CELL_SIZE_CEILING());
        assertGe(standards.roundingBase(), 1);
        assertLe(standards.roundingBase(), standards.MAX_ROUNDING_BASE());
        assertGt(standards.epsilonPerQuery(), 0);
        assertLe(standards.epsilonPerQuery(), standards.epsilonBudget());
        assertLe(standards.epsilonBudget(), standards.MAX_EPSILON_BUDGET());
        (uint16 p, uint16 s, uint16 t, address tr) = standards.feeSplit();
        assertEq(uint256(p) + s + t, 10_000);
        assertTrue(tr != address(0));
    }
}
