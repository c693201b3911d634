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
        consent.setConsent(DATASET, true);
        (bool granted, uint64 nonce, uint64 at) = consent.consentOf(patient, DATASET);
        assertTrue(granted);
        assertEq(nonce, 1);
        assertEq(at, block.number);
        assertTrue(consent.hasConsent(patient, DATASET));
        assertFalse(consent.hasConsent(patient, OTHER));

        vm.prank(patient);
        consent.setConsent(DATASET, false);
        assertFalse(consent.hasConsent(patient, DATASET));
        assertEq(consent.nonceOf(patient, DATASET), 2);
    }

    function test_setConsent_revertsWhenNonceExhausted() public {
        _submit(
            _one(_signConsent(patientKey, DATASET, true, type(uint64).max, uint64(block.timestamp)))
        );
        vm.expectRevert(
            abi.encodeWithSelector(ConsentRegistry.NonceExhausted.selector, patient, DATASET)
        );
        vm.prank(patient);
        consent.setConsent(DATASET, false);
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
        consent.setConsent(DATASET, false);
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

    function testFuzz_submitConsents_deadline(uint64 deadline, uint32 delay) public {
        deadline = uint64(bound(deadline, block.timestamp, type(uint64).max));
        ConsentRegistry.SignedConsent memory m =
            _signConsent(patientKey, DATASET, true, 1, deadline);
        vm.warp(block.timestamp + delay);
        uint256 applied = _submit(_one(m));
        assertEq(applied, block.timestamp <= deadline ? 1 : 0);
        assertEq(consent.hasConsent(patient, DATASET), applied == 1);
    }

    function testFuzz_submitConsents_nonceMustIncrease(uint64 first, uint64 second) public {
        first = uint64(bound(first, 1, type(uint64).max));
        _submit(_one(_signConsent(patientKey, DATASET, true, first, uint64(block.timestamp))));
        assertEq(consent.nonceOf(patient, DATASET), first);
        uint256 applied = _submit(
            _one(_signConsent(patientKey, DATASET, false, second, uint64(block.timestamp)))
        );
        if (second > first) {
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
