// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {BaseTest} from "../utils/Base.t.sol";
import {MarketHandler} from "./handlers/MarketHandler.sol";

/// @notice Token conservation across researchers, stewards, treasury, distributor and
///         patients; the marketplace never holds tokens; claimed <= allocated <= funded.
contract MarketInvariantsTest is BaseTest {
    MarketHandler internal handler;
    uint256 internal supply;

    function setUp() public override {
        super.setUp();
        uint256[] memory keys = new uint256[](2);
        keys[0] = researcherKey;
        keys[1] = researcher2Key;
        address[] memory stewards = new address[](3);
        stewards[0] = steward1;
        stewards[1] = steward2;
        stewards[2] = steward3;
        bytes32[] memory ids = new bytes32[](3);
        for (uint256 i = 0; i < 3; ++i) {
            ids[i] = keccak256(abi.encode("inv-dataset", i));
            _list(ids[i], stewards[i], uint96((i + 1) * 10 ether));
        }
        handler = new MarketHandler(
            token,
            standards,
            datasets,
            marketplace,
            distributor,
            timelock,
            operator,
            keys,
            stewards,
            ids
        );
        supply = token.totalSupply();
        targetContract(address(handler));
    }

    function _sumBalances() internal view returns (uint256 sum) {
        for (uint256 i = 0; i < handler.researcherCount(); ++i) {
            sum += token.balanceOf(handler.researchers(i));
        }
        sum += token.balanceOf(steward1) + token.balanceOf(steward2) + token.balanceOf(steward3);
        sum += token.balanceOf(treasury);
        sum += token.balanceOf(address(distributor));
        sum += token.balanceOf(address(marketplace));
        for (uint256 i = 0; i < handler.patientCount(); ++i) {
            sum += token.balanceOf(handler.patients(i));
        }
    }

    /// What the handler counted is what the chain recorded: every claim it made is marked
    /// claimed, every claim still pending is not, and the counters match the lists.
    function afterInvariant() public view {
        assertEq(handler.claims(), handler.doneCount(), "claims counted");
        for (uint256 i = 0; i < handler.doneCount(); ++i) {
            (address account, uint256 epoch) = handler.done(i);
            assertTrue(distributor.isClaimed(epoch, account), "claim not recorded");
        }
        for (uint256 i = 0; i < handler.pendingCount(); ++i) {
            (address account, uint256 epoch) = handler.pending(i);
            assertFalse(distributor.isClaimed(epoch, account), "pending claim recorded");
        }
    }

    function invariant_tokenConservation() public view {
        assertEq(_sumBalances(), supply, "tokens created or lost");
        assertEq(token.totalSupply(), supply, "supply changed");
    }

    function invariant_marketplaceHoldsNothing() public view {
        assertEq(token.balanceOf(address(marketplace)), 0);
    }

    function invariant_paymentsSplitExactly() public view {
        assertEq(
            handler.ghostStewardShares() + handler.ghostTreasuryShares()
                + handler.ghostPatientShares(),
            handler.ghostPaid()
        );
        assertEq(
            token.balanceOf(steward1) + token.balanceOf(steward2) + token.balanceOf(steward3),
            handler.ghostStewardShares()
        );
        assertEq(token.balanceOf(treasury), handler.ghostTreasuryShares());
    }

    function invariant_distributorSolvent() public view {
        assertEq(
            token.balanceOf(address(distributor)),
            handler.ghostPatientShares() + handler.ghostDirectFunding() - handler.ghostClaimed()
        );
    }

    /// One pool for all datasets: purchases of every dataset and top-ups fund it.
    function invariant_claimedNeverExceedsFunded() public view {
        (uint256 funded, uint256 allocated) = distributor.pool();
        assertEq(funded, handler.ghostFunded(), "funding accounted");
        uint256[] memory epochs = handler.epochs();
        uint256 claimed;
        for (uint256 j = 0; j < epochs.length; ++j) {
            (, uint256 total, uint256 epochClaimed,,) = distributor.epochOf(epochs[j]);
            assertLe(epochClaimed, total, "epoch overclaimed");
            claimed += epochClaimed;
        }
        assertEq(claimed, handler.ghostClaimed());
        assertLe(claimed, allocated, "claimed > allocated");
        assertLe(allocated, funded, "allocated > funded");
        assertEq(distributor.owed(), funded - claimed, "owed = funded - claimed");
        assertEq(distributor.recoverable(), 0, "no stray tokens were sent");
    }
}
