// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/// @title ConsentRegistry
/// @notice A patient's opt-in / opt-out per dataset. Patients either call `setConsent`
///         themselves or sign an EIP-712 `Consent` message that any relayer submits in a
///         batch, so patients need no gas. Revocation is the same message with
///         `granted = false`. Nothing here carries health data: dataset ids are opaque.
/// @dev EIP-712 domain: name "OpenCohort Consent", version "1", this chain id and address.
///      Type: `Consent(address patient,bytes32 datasetId,bool granted,uint64 nonce,uint64 deadline)`.
///
///      Ordering ("latest action wins"): every (patient, dataset) pair has a nonce. A signed
///      message applies only if its nonce is above the stored nonce by at most MAX_NONCE_JUMP,
///      and then becomes the stored nonce. A direct `setConsent` names its own nonce in the
///      same range, so a patient voids every signed message still pending (any nonce up to
///      it) with the same call that records the decision: apps pass one more than the highest
///      nonce they ever had signed for the pair, and `nonceOf + MAX_NONCE_JUMP` voids anything
///      that could still apply. The bound keeps a single message from exhausting the nonces of
///      a pair (2^64 - 1 would otherwise freeze it forever). A message can never be replayed.
///
///      Batches never revert on a bad entry: an expired deadline, a stale or too distant
///      nonce, or an invalid signature skips that entry and emits `ConsentSkipped` with the
///      reason. Signatures: 65-byte ECDSA from the patient, or ERC-1271 if the patient is a
///      contract; a wallet's check gets at most ERC1271_GAS_LIMIT gas, so one wallet cannot
///      make a whole batch run out of gas.
contract ConsentRegistry is EIP712 {
    /// @notice EIP-712 typehash of a Consent message.
    bytes32 public constant CONSENT_TYPEHASH = keccak256(
        "Consent(address patient,bytes32 datasetId,bool granted,uint64 nonce,uint64 deadline)"
    );

    /// @notice Largest step a nonce may take past the stored one.
    uint64 public constant MAX_NONCE_JUMP = 1_000_000;
    /// @notice Gas an ERC-1271 wallet's `isValidSignature` may use.
    uint256 public constant ERC1271_GAS_LIMIT = 50_000;

    /// @notice Why a relayed entry was skipped.
    enum SkipReason {
        Expired,
        StaleNonce,
        InvalidSignature,
        NonceTooFar
    }

    /// @notice Current consent of one (patient, dataset), packed in one slot.
    struct ConsentState {
        bool granted;
        uint64 nonce;
        uint64 updatedAtBlock;
    }

    /// @notice A signed consent message as submitted by a relayer.
    struct SignedConsent {
        address patient;
        bytes32 datasetId;
        bool granted;
        uint64 nonce;
        uint64 deadline;
        bytes signature;
    }

    /// @notice The nonce is not above the stored one, or more than MAX_NONCE_JUMP above it.
    error InvalidNonce(address patient, bytes32 datasetId, uint64 nonce, uint64 stored);

    /// @notice The consent of (patient, dataset) is now `granted`, at `nonce`. Whether it was
    ///         relayed shows in the transaction (submitConsents vs setConsent); the relayer
    ///         is not logged so that each relayed consent costs less gas.
    event ConsentSet(
        address indexed patient, bytes32 indexed datasetId, bool granted, uint64 nonce
    );
    /// @notice A relayed entry was not applied.
    event ConsentSkipped(
        address indexed patient, bytes32 indexed datasetId, uint64 nonce, SkipReason reason
    );

    mapping(address patient => mapping(bytes32 datasetId => ConsentState)) private _consents;

    constructor() EIP712("OpenCohort Consent", "1") {}

    /// @notice Opts the caller in (`granted = true`) or out of `datasetId`, and voids every
    ///         signed message for the pair with a nonce up to `nonce` (so a grant still queued
    ///         at a relayer cannot override this decision later).
    /// @param datasetId The dataset.
    /// @param granted True to opt in, false to opt out.
    /// @param nonce The nonce this action takes: above `nonceOf`, at most
    ///        `nonceOf + MAX_NONCE_JUMP`. Pass one more than the highest nonce ever signed.
    function setConsent(bytes32 datasetId, bool granted, uint64 nonce) external {
        ConsentState storage c = _consents[msg.sender][datasetId];
        uint64 stored = c.nonce;
        if (!_isNextNonce(nonce, stored)) revert InvalidNonce(msg.sender, datasetId, nonce, stored);
        _apply(c, msg.sender, datasetId, granted, nonce);
    }

    /// @notice Applies a batch of signed consent messages. Invalid entries are skipped with a
    ///         `ConsentSkipped` event; the valid ones apply in order.
    /// @param consents The signed messages.
    /// @return applied Number of entries applied.
    function submitConsents(SignedConsent[] calldata consents) external returns (uint256 applied) {
        for (uint256 i = 0; i < consents.length; ++i) {
            SignedConsent calldata m = consents[i];
            ConsentState storage c = _consents[m.patient][m.datasetId];
            // forge-lint: disable-next-line(block-timestamp)
            if (block.timestamp > m.deadline) {
                emit ConsentSkipped(m.patient, m.datasetId, m.nonce, SkipReason.Expired);
            } else if (m.nonce <= c.nonce) {
                emit ConsentSkipped(m.patient, m.datasetId, m.nonce, SkipReason.StaleNonce);
            } else if (m.nonce - c.nonce > MAX_NONCE_JUMP) {
                emit ConsentSkipped(m.patient, m.datasetId, m.nonce, SkipReason.NonceTooFar);
            } else if (!_isValidSignature(m)) {
                emit ConsentSkipped(m.patient, m.datasetId, m.nonce, SkipReason.InvalidSignature);
            } else {
                _apply(c, m.patient, m.datasetId, m.granted, m.nonce);
                unchecked {
                    ++applied;
                }
            }
        }
    }

    /// @notice The current consent of (patient, dataset).
    /// @param patient The patient.
    /// @param datasetId The dataset.
    /// @return granted Whether the patient is opted in.
    /// @return nonce The last used nonce.
    /// @return updatedAtBlock Block of the last change (0 = never set).
    function consentOf(address patient, bytes32 datasetId)
        external
        view
        returns (bool granted, uint64 nonce, uint64 updatedAtBlock)
    {
        ConsentState memory c = _consents[patient][datasetId];
        return (c.granted, c.nonce, c.updatedAtBlock);
    }

    /// @notice Whether `patient` is currently opted in to `datasetId`.
    /// @param patient The patient.
    /// @param datasetId The dataset.
    function hasConsent(address patient, bytes32 datasetId) external view returns (bool) {
        return _consents[patient][datasetId].granted;
    }

    /// @notice The last used nonce of (patient, dataset); the next message or direct call
    ///         takes a greater one, at most MAX_NONCE_JUMP greater.
    /// @param patient The patient.
    /// @param datasetId The dataset.
    function nonceOf(address patient, bytes32 datasetId) external view returns (uint64) {
        return _consents[patient][datasetId].nonce;
    }

    /// @notice The EIP-712 digest a patient signs for a Consent message.
    /// @param patient The patient.
    /// @param datasetId The dataset.
    /// @param granted Opt in (true) or out (false).
    /// @param nonce Nonce (above `nonceOf`, by at most MAX_NONCE_JUMP).
    /// @param deadline Last unix second at which the message may be applied.
    function consentDigest(
        address patient,
        bytes32 datasetId,
        bool granted,
        uint64 nonce,
        uint64 deadline
    ) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(abi.encode(CONSENT_TYPEHASH, patient, datasetId, granted, nonce, deadline))
        );
    }

    /// @notice The EIP-712 domain separator of this registry.
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    function _apply(
        ConsentState storage c,
        address patient,
        bytes32 datasetId,
        bool granted,
        uint64 nonce
    ) private {
        c.granted = granted;
        c.nonce = nonce;
        c.updatedAtBlock = uint64(block.number);
        emit ConsentSet(patient, datasetId, granted, nonce);
    }

    function _isNextNonce(uint64 nonce, uint64 stored) private pure returns (bool) {
        return nonce > stored && nonce - stored <= MAX_NONCE_JUMP;
    }

    /// @dev ECDSA first: the common case (an EOA patient) then needs no EXTCODESIZE.
    function _isValidSignature(SignedConsent calldata m) private view returns (bool) {
        bytes32 digest = consentDigest(m.patient, m.datasetId, m.granted, m.nonce, m.deadline);
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, m.signature);
        if (err == ECDSA.RecoverError.NoError && signer == m.patient) return true;
        return m.patient.code.length != 0 && _isValidERC1271(m.patient, digest, m.signature);
    }

    /// @dev ERC-1271 with a gas cap; only the first 32 bytes of the answer are copied, so a
    ///      wallet cannot make the registry pay for a huge return either.
    function _isValidERC1271(address wallet, bytes32 digest, bytes calldata signature)
        private
        view
        returns (bool valid)
    {
        bytes memory data = abi.encodeCall(IERC1271.isValidSignature, (digest, signature));
        bytes4 magic = IERC1271.isValidSignature.selector;
        uint256 gasLimit = ERC1271_GAS_LIMIT;
        assembly ("memory-safe") {
            mstore(0x00, 0)
            let ok := staticcall(gasLimit, wallet, add(data, 0x20), mload(data), 0x00, 0x20)
            valid := and(ok, and(gt(returndatasize(), 0x1f), eq(mload(0x00), magic)))
        }
    }
}
