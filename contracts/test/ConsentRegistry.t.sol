// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {BaseTest} from "./utils/Base.t.sol";
import {ConsentRegistry} from "../src/ConsentRegistry.sol";

/// @dev A smart-contract wallet that accepts exactly the digests its owner approved.
contract MockWallet is IERC1271 {
    mapping(bytes32 => bool) public approved;

    function approve(bytes32 digest) external {
        approved[digest] = true;
    }

    function isValidSignature(bytes32 digest, bytes memory) external view returns (bytes4) {
        return approved[digest] ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }
}

/// @dev A wallet whose signature check burns all the gas it is given.
contract GasBurnerWallet is IERC1271 {
    function isValidSignature(bytes32, bytes memory) external view returns (bytes4) {
        uint256 x;
        while (gasleft() > 100) {
            x = uint256(keccak256(abi.encode(x)));
        }
        return bytes4(uint32(x));
    }
}

contract ConsentRegistryTest is BaseTest {
    bytes32 internal constant OTHER = keccak256("dataset/other");
    address internal relayer = makeAddr("relayer");

    function _one(ConsentRegistry.SignedConsent memory m)
        internal
        pure
        returns (ConsentRegistry.SignedConsent[] memory batch)
    {
        batch = new ConsentRegistry.SignedConsent[](1);
        batch[0] = m;
    }

    function _submit(ConsentRegistry.SignedConsent[] memory batch) internal returns (uint256) {
        vm.prank(relayer);
        return consent.submitConsents(batch);
    }

    function test_typehashAndDomain() public view {
        assertEq(
            consent.CONSENT_TYPEHASH(),
            keccak256(
                "Consent(address patient,bytes32 datasetId,bool granted,uint64 nonce,uint64 deadline)"
            )
        );
        (, string memory name, string memory version, uint256 chainId, address verifying,,) =
            consent.eip712Domain();
        assertEq(name, "OpenCohort Consent");
        assertEq(version, "1");
        assertEq(chainId, block.chainid);
        assertEq(verifying, address(consent));
        bytes32 expected = keccak256(
            abi.encode(
                keccak256(
                    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                ),
                keccak256("OpenCohort Consent"),
                keccak256("1"),
                block.chainid,
                address(consent)
            )
        );
        assertEq(consent.DOMAIN_SEPARATOR(), expected);
        bytes32 structHash = keccak256(
            abi.encode(consent.CONSENT_TYPEHASH(), patient, DATASET, true, uint64(1), uint64(9))
        );
        assertEq(
            consent.consentDigest(patient, DATASET, true, 1, 9),
            keccak256(abi.encodePacked("\x19\x01", expected, structHash))
        );
    }

    function test_setConsent_directOptInAndOut() public {
        vm.expectEmit(address(consent));
        emit ConsentRegistry.ConsentSet(patient, DATASET, true, 1);
        vm.prank(patient);
        consent.setConsent(DATASET, true, 1);
        (bool granted, uint64 nonce, uint64 at) = consent.consentOf(patient, DATASET);
        assertTrue(granted);
        assertEq(nonce, 1);
        assertEq(at, block.number);
        assertTrue(consent.hasConsent(patient, DATASET));
        assertFalse(consent.hasConsent(patient, OTHER));

        vm.prank(patient);
        consent.setConsent(DATASET, false, 2);
        assertFalse(consent.hasConsent(patient, DATASET));
        assertEq(consent.nonceOf(patient, DATASET), 2);
    }

    function test_setConsent_revertsOnStaleOrDistantNonce() public {
        vm.prank(patient);
        consent.setConsent(DATASET, true, 5);
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.InvalidNonce.selector, patient, DATASET, 5, 5)
        );
        vm.prank(patient);
        consent.setConsent(DATASET, false, 5);
        uint64 tooFar = 5 + consent.MAX_NONCE_JUMP() + 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                ConsentRegistry.InvalidNonce.selector, patient, DATASET, tooFar, 5
            )
        );
        vm.prank(patient);
        consent.setConsent(DATASET, false, tooFar);
    }

    /// Finding: a message with nonce 2^64-1 froze a (patient, dataset) pair forever. Now it is
    /// skipped as too distant and the patient can still change its mind.
    function test_finding_maxNonceMessageCannotFreezePair() public {
        ConsentRegistry.SignedConsent memory m =
            _signConsent(patientKey, DATASET, true, type(uint64).max, uint64(block.timestamp));
        vm.expectEmit(address(consent));
        emit ConsentRegistry.ConsentSkipped(
            patient, DATASET, type(uint64).max, ConsentRegistry.SkipReason.NonceTooFar
        );
        assertEq(_submit(_one(m)), 0);
        assertEq(consent.nonceOf(patient, DATASET), 0);
        vm.prank(patient);
        consent.setConsent(DATASET, false, 1);
        assertEq(consent.nonceOf(patient, DATASET), 1);
    }

    /// Finding: a grant signed earlier with a higher nonce, still queued at a relayer, overrode
    /// the patient's later direct revocation. The revocation now names a nonce above every
    /// message the patient signed, so the queued grant is stale: the latest action wins.
    function test_finding_directRevocationVoidsQueuedGrantWithHigherNonce() public {
        _submit(_one(_signConsent(patientKey, DATASET, true, 1, uint64(block.timestamp + 1 days))));
        ConsentRegistry.SignedConsent memory queued =
            _signConsent(patientKey, DATASET, true, 3, uint64(block.timestamp + 1 days));
        vm.prank(patient);
        consent.setConsent(DATASET, false, 4);
        vm.expectEmit(address(consent));
        emit ConsentRegistry.ConsentSkipped(
            patient, DATASET, 3, ConsentRegistry.SkipReason.StaleNonce
        );
        assertEq(_submit(_one(queued)), 0);
        assertFalse(consent.hasConsent(patient, DATASET));
    }

    /// Finding: the patient can void everything that could still apply without knowing which
    /// nonces were signed, with nonceOf + MAX_NONCE_JUMP.
    function test_finding_revocationWithMaxJumpVoidsEveryPendingMessage() public {
        uint64 jump = consent.MAX_NONCE_JUMP();
        ConsentRegistry.SignedConsent memory farthest =
            _signConsent(patientKey, DATASET, true, jump, uint64(block.timestamp + 1 days));
        vm.prank(patient);
        consent.setConsent(DATASET, false, jump);
        assertEq(_submit(_one(farthest)), 0);
        assertFalse(consent.hasConsent(patient, DATASET));
    }

    function test_submitConsents_appliesSignedMessage() public {
        ConsentRegistry.SignedConsent memory m =
            _signConsent(patientKey, DATASET, true, 1, uint64(block.timestamp + 1 days));
        vm.expectEmit(address(consent));
        emit ConsentRegistry.ConsentSet(patient, DATASET, true, 1);
        assertEq(_submit(_one(m)), 1);
        assertTrue(consent.hasConsent(patient, DATASET));
        assertEq(consent.nonceOf(patient, DATASET), 1);
    }

    function test_submitConsents_emptyBatch() public {
        assertEq(_submit(new ConsentRegistry.SignedConsent[](0)), 0);
    }

    function test_submitConsents_skipsExpired() public {
        ConsentRegistry.SignedConsent memory m =
            _signConsent(patientKey, DATASET, true, 1, uint64(block.timestamp - 1));
        vm.expectEmit(address(consent));
        emit ConsentRegistry.ConsentSkipped(patient, DATASET, 1, ConsentRegistry.SkipReason.Expired);
        assertEq(_submit(_one(m)), 0);
        assertFalse(consent.hasConsent(patient, DATASET));
    }

    function test_submitConsents_skipsReplayedNonce() public {
        ConsentRegistry.SignedConsent memory m =
            _signConsent(patientKey, DATASET, true, 1, uint64(block.timestamp));
        _submit(_one(m));
        vm.expectEmit(address(consent));
        emit ConsentRegistry.ConsentSkipped(
            patient, DATASET, 1, ConsentRegistry.SkipReason.StaleNonce
        );
        assertEq(_submit(_one(m)), 0);
    }

    function test_submitConsents_skipsWrongSigner() public {
        (, uint256 otherKey) = makeAddrAndKey("impostor");
        ConsentRegistry.SignedConsent memory m =
            _signConsent(otherKey, DATASET, true, 1, uint64(block.timestamp));
        m.patient = patient;
        vm.expectEmit(address(consent));
        emit ConsentRegistry.ConsentSkipped(
            patient, DATASET, 1, ConsentRegistry.SkipReason.InvalidSignature
        );
        assertEq(_submit(_one(m)), 0);
        assertEq(consent.nonceOf(patient, DATASET), 0);
    }

    function test_submitConsents_skipsTamperedMessage() public {
        ConsentRegistry.SignedConsent memory m =
            _signConsent(patientKey, DATASET, false, 1, uint64(block.timestamp));
        m.granted = true;
        assertEq(_submit(_one(m)), 0);
        m.granted = false;
        m.datasetId = OTHER;
        assertEq(_submit(_one(m)), 0);
    }

    function test_submitConsents_skipsMalformedAndHighSSignatures() public {
        ConsentRegistry.SignedConsent memory m =
            _signConsent(patientKey, DATASET, true, 1, uint64(block.timestamp));
        ConsentRegistry.SignedConsent memory shortSig = m;
        shortSig.signature = hex"1234";
        assertEq(_submit(_one(shortSig)), 0);

        bytes memory sig = m.signature;
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := mload(add(sig, 0x20))
            s := mload(add(sig, 0x40))
            v := byte(0, mload(add(sig, 0x60)))
        }
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        m.signature = abi.encodePacked(r, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        vm.expectEmit(address(consent));
        emit ConsentRegistry.ConsentSkipped(
            patient, DATASET, 1, ConsentRegistry.SkipReason.InvalidSignature
        );
        assertEq(_submit(_one(m)), 0);
    }

    function test_submitConsents_badEntryDoesNotBlockOthers() public {
        (address p2, uint256 k2) = makeAddrAndKey("patient2");
        (address p3, uint256 k3) = makeAddrAndKey("patient3");
        ConsentRegistry.SignedConsent[] memory batch = new ConsentRegistry.SignedConsent[](3);
        batch[0] = _signConsent(patientKey, DATASET, true, 1, uint64(block.timestamp));
        batch[1] = _signConsent(k2, DATASET, true, 1, uint64(block.timestamp));
        batch[1].signature[0] = bytes1(uint8(batch[1].signature[0]) ^ 1);
        batch[2] = _signConsent(k3, DATASET, true, 1, uint64(block.timestamp));
        assertEq(_submit(batch), 2);
        assertTrue(consent.hasConsent(patient, DATASET));
        assertFalse(consent.hasConsent(p2, DATASET));
        assertTrue(consent.hasConsent(p3, DATASET));
    }

    function test_submitConsents_latestNonceWinsWhateverTheOrder() public {
        ConsentRegistry.SignedConsent[] memory batch = new ConsentRegistry.SignedConsent[](2);
        batch[0] = _signConsent(patientKey, DATASET, false, 2, uint64(block.timestamp)); // revoke
        batch[1] = _signConsent(patientKey, DATASET, true, 1, uint64(block.timestamp)); // older grant
        vm.expectEmit(address(consent));
        emit ConsentRegistry.ConsentSet(patient, DATASET, false, 2);
        vm.expectEmit(address(consent));
        emit ConsentRegistry.ConsentSkipped(
            patient, DATASET, 1, ConsentRegistry.SkipReason.StaleNonce
        );
        assertEq(_submit(batch), 1);
        assertFalse(consent.hasConsent(patient, DATASET));
    }

    function test_submitConsents_sameBatchAppliesInOrder() public {
        ConsentRegistry.SignedConsent[] memory batch = new ConsentRegistry.SignedConsent[](2);
        batch[0] = _signConsent(patientKey, DATASET, true, 1, uint64(block.timestamp));
        batch[1] = _signConsent(patientKey, DATASET, false, 2, uint64(block.timestamp));
        assertEq(_submit(batch), 2);
        assertFalse(consent.hasConsent(patient, DATASET));
        assertEq(consent.nonceOf(patient, DATASET), 2);
    }

    function test_setConsent_invalidatesPendingSignedMessage() public {
        ConsentRegistry.SignedConsent memory pending =
            _signConsent(patientKey, DATASET, true, 1, uint64(block.timestamp));
        vm.prank(patient);
        consent.setConsent(DATASET, false, 1);
        assertEq(_submit(_one(pending)), 0);
        assertFalse(consent.hasConsent(patient, DATASET));
    }

    function test_submitConsents_noncesArePerDataset() public {
        ConsentRegistry.SignedConsent[] memory batch = new ConsentRegistry.SignedConsent[](2);
        batch[0] = _signConsent(patientKey, DATASET, true, 1, uint64(block.timestamp));
        batch[1] = _signConsent(patientKey, OTHER, true, 1, uint64(block.timestamp));
        assertEq(_submit(batch), 2);
    }

    function test_submitConsents_acceptsERC1271Wallet() public {
        MockWallet wallet = new MockWallet();
        bytes32 digest =
            consent.consentDigest(address(wallet), DATASET, true, 1, uint64(block.timestamp));
        ConsentRegistry.SignedConsent memory m = ConsentRegistry.SignedConsent({
            patient: address(wallet),
            datasetId: DATASET,
            granted: true,
            nonce: 1,
            deadline: uint64(block.timestamp),
            signature: hex"00"
        });
        assertEq(_submit(_one(m)), 0, "not approved yet");
        wallet.approve(digest);
        assertEq(_submit(_one(m)), 1);
        assertTrue(consent.hasConsent(address(wallet), DATASET));
    }

    /// Finding: an ERC-1271 wallet got all remaining gas; one wallet that burns gas made the
    /// whole batch run out. Its check is now capped and only its own entry is skipped.
    function test_finding_erc1271GasCapKeepsBatchAlive() public {
        GasBurnerWallet burner = new GasBurnerWallet();
        ConsentRegistry.SignedConsent[] memory batch = new ConsentRegistry.SignedConsent[](2);
        batch[0] = ConsentRegistry.SignedConsent({
            patient: address(burner),
            datasetId: DATASET,
            granted: true,
            nonce: 1,
            deadline: uint64(block.timestamp),
            signature: hex"00"
        });
        batch[1] = _signConsent(patientKey, DATASET, true, 1, uint64(block.timestamp));
        vm.prank(relayer);
        uint256 applied = consent.submitConsents{gas: 1_000_000}(batch);
        assertEq(applied, 1);
        assertTrue(consent.hasConsent(patient, DATASET));
        assertFalse(consent.hasConsent(address(burner), DATASET));
    }

    function testFuzz_submitConsents_deadline(uint64 deadline, uint32 delay) public {
        deadline = uint64(bound(deadline, block.timestamp, type(uint64).max));
        ConsentRegistry.SignedConsent memory m =
            _signConsent(patientKey, DATASET, true, 1, deadline);
        vm.warp(block.timestamp + delay);
        uint256 applied = _submit(_one(m));
        assertEq(applied, block.timestamp <= deadline ? 1 : 0);
        assertEq(consent.hasConsent(patient, DATASET), applied == 1);
    }

    function testFuzz_submitConsents_nonceMustIncreaseBoundedly(uint64 first, uint64 second)
        public
    {
        first = uint64(bound(first, 1, consent.MAX_NONCE_JUMP()));
        _submit(_one(_signConsent(patientKey, DATASET, true, first, uint64(block.timestamp))));
        assertEq(consent.nonceOf(patient, DATASET), first);
        uint256 applied = _submit(
            _one(_signConsent(patientKey, DATASET, false, second, uint64(block.timestamp)))
        );
        if (second > first && second - first <= consent.MAX_NONCE_JUMP()) {
            assertEq(applied, 1);
            assertFalse(consent.hasConsent(patient, DATASET));
            assertEq(consent.nonceOf(patient, DATASET), second);
        } else {
            assertEq(applied, 0);
            assertTrue(consent.hasConsent(patient, DATASET));
            assertEq(consent.nonceOf(patient, DATASET), first);
        }
    }
}
