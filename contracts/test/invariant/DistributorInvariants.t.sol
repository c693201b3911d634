// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {BaseTest} from "../utils/Base.t.sol";
import {DistributorHandler} from "./handlers/DistributorHandler.sol";

/// @notice The one reward pool under funding, stray transfers, roots, claims, reclaims, vetoes,
///         pauses, cursor moves and recoveries: the contract always covers what it owes, owes
///         exactly funded minus claimed, and lets governance recover exactly the strays not
///         yet recovered; the settled cursor only ever passes settled epochs.
contract DistributorInvariantsTest is BaseTest {
    DistributorHandler internal handler;

    function setUp() public override {
        super.setUp();
        // Short windows so that challenges end, claims expire and reclaims happen in a run.
        vm.prank(address(timelock));
        distributor.setWindows(1 days, 2 days);
        address[] memory funders = new address[](2);
        funders[0] = researcher;
        funders[1] = researcher2;
        handler = new DistributorHandler(
            token, distributor, address(timelock), operator, guardian, funders
        );
        targetContract(address(handler));
    }

    /// What the handler counted is what the chain recorded.
    function afterInvariant() public view {
        assertEq(handler.claims(), handler.doneCount(), "claims counted");
        uint256 paid;
        for (uint256 i = 0; i < handler.doneCount(); ++i) {
            (address account, uint256 epoch, uint256 amount) = handler.done(i);
            assertTrue(distributor.isClaimed(epoch, account), "claim not recorded");
            paid += amount;
        }
        assertEq(paid, handler.ghostClaimed(), "claimed amounts counted");
        uint256 received;
        for (uint256 i = 0; i < handler.patientCount(); ++i) {
            received += token.balanceOf(handler.patients(i));
        }
        assertEq(received, handler.ghostClaimed(), "payout addresses received the claims");
        for (uint256 i = 0; i < handler.pendingCount(); ++i) {
            (address account, uint256 epoch) = handler.pending(i);
            assertFalse(distributor.isClaimed(epoch, account), "pending claim recorded");
        }
        assertEq(
            distributor.postedEpochCount(),
            handler.posts() - handler.vetoesOfLatest(),
            "every post listed, every veto of the latest unlisted"
        );
        assertEq(handler.refusedRecoveries(), handler.recoverCalls(), "over-recovery refused");
    }

    function invariant_solvent() public view {
        assertGe(token.balanceOf(address(distributor)), distributor.owed(), "balance < owed");
    }

    function invariant_owedIsFundedMinusClaimed() public view {
        (uint256 funded,) = distributor.pool();
        assertEq(funded, handler.ghostFunded(), "funding accounted");
        assertEq(distributor.owed(), funded - handler.ghostClaimed(), "owed");
    }

    function invariant_recoverableIsUnrecoveredStrays() public view {
        assertEq(
            distributor.recoverable(),
            handler.ghostStrays() - handler.ghostRecovered(),
            "recoverable != strays - recovered"
        );
        assertEq(
            token.balanceOf(address(distributor)),
            handler.ghostFunded() - handler.ghostClaimed() + handler.ghostStrays()
                - handler.ghostRecovered(),
            "balance"
        );
    }

    function invariant_allocatedIsSumOfLiveTotals() public view {
        (uint256 funded, uint256 allocated) = distributor.pool();
        uint256 totals;
        uint256 claimed;
        for (uint256 i = 0; i < distributor.postedEpochCount(); ++i) {
            (, uint256 total, uint256 epochClaimed,,) =
                distributor.epochOf(distributor.postedEpochs(i));
            assertLe(epochClaimed, total, "epoch overclaimed");
            totals += total;
            claimed += epochClaimed;
        }
        assertEq(allocated, totals, "allocated = sum of live totals");
        assertEq(claimed, handler.ghostClaimed(), "claimed");
        assertLe(allocated, funded, "allocated > funded");
    }

    function invariant_cursorPassesOnlySettledEpochs() public view {
        uint256 count = distributor.postedEpochCount();
        uint256 cursor = distributor.settledCursor();
        assertLe(cursor, count, "cursor past the list");
        uint256 previous;
        for (uint256 i = 0; i < count; ++i) {
            uint256 epoch = distributor.postedEpochs(i);
            assertGt(epoch, previous, "posted epochs increase");
            previous = epoch;
            if (i < cursor) {
                (, uint256 total, uint256 claimed,,) = distributor.epochOf(epoch);
                assertEq(total, claimed, "cursor passed an unsettled epoch");
            }
        }
        assertEq(distributor.lastEpoch(), previous, "last epoch is the last listed");
    }
}
