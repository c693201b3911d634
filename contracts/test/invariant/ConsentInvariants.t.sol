// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {ConsentRegistry} from "../../src/ConsentRegistry.sol";
import {ConsentHandler} from "./handlers/ConsentHandler.sol";

/// @notice The on-chain consent of every (patient, dataset) equals the latest valid action of
///         the model, whatever mix of direct calls and relayed (partly invalid) batches ran.
contract ConsentInvariantsTest is Test {
    ConsentRegistry internal consent;
    ConsentHandler internal handler;

    function setUp() public {
        vm.warp(1_800_000_000);
        consent = new ConsentRegistry();
        handler = new ConsentHandler(consent);
        targetContract(address(handler));
    }

    /// The run did something (a handler whose calls all reverted would fail here), and the
    /// registry's own counts of applied entries add up with the model's.
    function afterInvariant() public view {
        assertGt(handler.directCalls(), 0, "no direct call ran");
        assertGt(handler.relays(), 0, "no batch was relayed");
        assertEq(
            handler.relayedApplied() + handler.skipped(), handler.relayedEntries(), "entries"
        );
        assertEq(handler.applied(), handler.directCalls() + handler.relayedApplied(), "applied");
    }

    function invariant_consentEqualsLatestValidAction() public view {
        for (uint256 p = 0; p < handler.patientCount(); ++p) {
            for (uint256 d = 0; d < handler.datasetCount(); ++d) {
                address patient = handler.patients(p);
                bytes32 id = handler.datasetIds(d);
                (bool expectedGranted, uint64 expectedNonce) = handler.model(patient, id);
                (bool granted, uint64 nonce,) = consent.consentOf(patient, id);
                assertEq(granted, expectedGranted, "granted");
                assertEq(nonce, expectedNonce, "nonce");
            }
        }
    }
}
