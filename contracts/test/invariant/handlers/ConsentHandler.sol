// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {ConsentRegistry} from "../../../src/ConsentRegistry.sol";

/// @notice Sends direct consents and relayed batches mixing valid, expired, stale-nonce,
///         too-distant-nonce and forged entries, and keeps a model of the latest valid action per (patient, dataset).
contract ConsentHandler is Test {
    struct Model {
        bool granted;
        uint64 nonce;
    }

    enum Kind {
        Valid,
        Expired,
        Stale,
        Forged,
        TooFar
    }

    ConsentRegistry internal consent;
    uint256[] internal keys;
    address[] public patients;
    bytes32[] public datasetIds;
    uint256 internal forgerKey;

    mapping(address => mapping(bytes32 => Model)) internal _model;
    uint256 public applied;
    uint256 public skipped;
    uint256 public directCalls;
    uint256 public relays;
    uint256 public relayedEntries;
    uint256 public relayedApplied;

    constructor(ConsentRegistry consent_) {
        consent = consent_;
        for (uint256 i = 0; i < 3; ++i) {
            (address p, uint256 k) =
                makeAddrAndKey(string.concat("consent-patient-", vm.toString(i)));
            patients.push(p);
            keys.push(k);
        }
        datasetIds.push(keccak256("consent-dataset-0"));
        datasetIds.push(keccak256("consent-dataset-1"));
        (, forgerKey) = makeAddrAndKey("forger");
    }

    function model(address patient, bytes32 datasetId) external view returns (bool, uint64) {
        Model memory m = _model[patient][datasetId];
        return (m.granted, m.nonce);
    }

    function patientCount() external view returns (uint256) {
        return patients.length;
    }

    function datasetCount() external view returns (uint256) {
        return datasetIds.length;
    }

    function direct(uint256 who, uint256 which, bool granted) external {
        uint256 p = bound(who, 0, patients.length - 1);
        bytes32 id = datasetIds[bound(which, 0, datasetIds.length - 1)];
        Model storage m = _model[patients[p]][id];
        // Sometimes one step, sometimes the largest jump (voids every pending message).
        uint64 nonce = m.nonce + (granted ? 1 : consent.MAX_NONCE_JUMP());
        vm.prank(patients[p]);
        consent.setConsent(id, granted, nonce);
        m.granted = granted;
        m.nonce = nonce;
        applied++;
        directCalls++;
    }

    function relay(uint256 seed, uint8 size) external {
        uint256 n = bound(size, 1, 6);
        ConsentRegistry.SignedConsent[] memory batch = new ConsentRegistry.SignedConsent[](n);
        uint256 expected;
        // The model is updated entry by entry, as the registry processes the batch.
        for (uint256 i = 0; i < n; ++i) {
            bool valid;
            (batch[i], valid) = _entry(uint256(keccak256(abi.encode(seed, i))));
            if (valid) expected++;
        }
        uint256 count = consent.submitConsents(batch);
        applied += expected;
        skipped += n - expected;
        require(count == expected, "applied count differs from model");
        relays++;
        relayedEntries += n;
        relayedApplied += count;
    }

    function _entry(uint256 r)
        private
        returns (ConsentRegistry.SignedConsent memory entry, bool valid)
    {
        uint256 p = r % patients.length;
        entry.patient = patients[p];
        entry.datasetId = datasetIds[(r >> 8) % datasetIds.length];
        entry.granted = (r >> 16) & 1 == 1;
        Kind kind = Kind((r >> 24) % 5);
        Model storage m = _model[entry.patient][entry.datasetId];
        entry.deadline = uint64(block.timestamp + ((r >> 40) % 1 days));
        if (kind == Kind.Stale) {
            entry.nonce = m.nonce == 0 ? 0 : uint64((r >> 80) % (uint256(m.nonce) + 1));
        } else if (kind == Kind.TooFar) {
            entry.nonce = m.nonce + consent.MAX_NONCE_JUMP() + 1 + uint64((r >> 80) % 3);
        } else {
            entry.nonce = m.nonce + 1 + uint64((r >> 80) % 3);
        }
        if (kind == Kind.Expired) {
            entry.deadline = uint64(block.timestamp - 1 - ((r >> 40) % 1 days));
        }
        bytes32 digest = consent.consentDigest(
            entry.patient, entry.datasetId, entry.granted, entry.nonce, entry.deadline
        );
        (uint8 v, bytes32 rr, bytes32 ss) =
            vm.sign(kind == Kind.Forged ? forgerKey : keys[p], digest);
        entry.signature = abi.encodePacked(rr, ss, v);
        valid = kind == Kind.Valid;
        if (valid) {
            m.granted = entry.granted;
            m.nonce = entry.nonce;
        }
    }

    function warp(uint32 secondsAhead) external {
        vm.warp(block.timestamp + bound(secondsAhead, 1, 2 days));
    }
}
