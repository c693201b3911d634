// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {BaseTest} from "./utils/Base.t.sol";
import {QueryLedger} from "../src/QueryLedger.sol";
import {Merkle} from "./utils/Merkle.sol";

contract QueryLedgerTest is BaseTest {
    string internal fixture;

    function setUp() public override {
        super.setUp();
        fixture = vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/merkle.json"));
    }

    function _anchorFixture() internal returns (bytes32 root) {
        root = vm.parseJsonBytes32(fixture, ".receipts.root");
        vm.prank(operator);
        ledger.anchor(7, root, uint64(vm.parseJsonUint(fixture, ".receipts.count")));
    }

    function test_anchor_storesAndEmits() public {
        bytes32 root = vm.parseJsonBytes32(fixture, ".receipts.root");
        vm.expectEmit(address(ledger));
        emit QueryLedger.ReceiptsAnchored(7, root, 8);
        _anchorFixture();
        QueryLedger.Anchor memory a = ledger.anchorOf(7);
        assertEq(a.root, root);
        assertEq(a.receiptCount, 8);
        assertEq(a.anchoredAt, block.timestamp);
    }

    /// Proofs produced by the JS StandardMerkleTree (OpenZeppelin merkle-tree, ["bytes32"]).
    function test_verifyReceipt_acceptsJsLibraryProofs() public {
        _anchorFixture();
        for (uint256 i = 0; i < 8; ++i) {
            string memory item = string.concat(".receipts.items[", vm.toString(i), "]");
            bytes32 receiptHash = vm.parseJsonBytes32(fixture, string.concat(item, ".receiptHash"));
            bytes32[] memory proof =
                vm.parseJsonBytes32Array(fixture, string.concat(item, ".proof"));
            assertTrue(ledger.verifyReceipt(7, receiptHash, proof));
            assertFalse(ledger.verifyReceipt(8, receiptHash, proof), "other epoch");
            assertFalse(ledger.verifyReceipt(7, keccak256(abi.encode(receiptHash)), proof));
        }
    }

    function test_verifyReceipt_falseForUnanchoredEpoch() public view {
        assertFalse(ledger.verifyReceipt(1, bytes32(0), new bytes32[](0)));
    }

    function test_verifyReceipt_singleLeafTree() public {
        bytes32 receiptHash = keccak256("only receipt");
        bytes32 root = ledger.leafOf(receiptHash);
        vm.prank(operator);
        ledger.anchor(1, root, 1);
        assertTrue(ledger.verifyReceipt(1, receiptHash, new bytes32[](0)));
    }

    function testFuzz_verifyReceipt_solidityTree(bytes32[6] memory hashes, uint8 index) public {
        bytes32[] memory leaves = new bytes32[](6);
        for (uint256 i = 0; i < 6; ++i) {
            leaves[i] = ledger.leafOf(hashes[i]);
        }
        bytes32 root = Merkle.rootOf(leaves);
        vm.prank(operator);
        ledger.anchor(3, root, 6);
        uint256 i = bound(index, 0, 5);
        assertTrue(ledger.verifyReceipt(3, hashes[i], Merkle.proofOf(leaves, i)));
    }

    function test_anchor_revertsWhenNotOperator() public {
        bytes32 role = ledger.OPERATOR_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, outsider, role
            )
        );
        vm.prank(outsider);
        ledger.anchor(1, bytes32(uint256(1)), 1);
    }

    function test_anchor_revertsOnZeroRoot() public {
        vm.expectRevert(QueryLedger.InvalidRoot.selector);
        vm.prank(operator);
        ledger.anchor(1, bytes32(0), 1);
    }

    function test_anchor_revertsOnEmptyEpoch() public {
        vm.expectRevert(QueryLedger.EmptyEpoch.selector);
        vm.prank(operator);
        ledger.anchor(1, bytes32(uint256(1)), 0);
    }

    function test_anchor_revertsWhenAlreadyAnchored() public {
        _anchorFixture();
        vm.expectRevert(abi.encodeWithSelector(QueryLedger.EpochAlreadyAnchored.selector, 7));
        vm.prank(operator);
        ledger.anchor(7, bytes32(uint256(1)), 1);
    }

    function test_anchor_revokedOperatorCannotAnchor() public {
        bytes32 role = ledger.OPERATOR_ROLE();
        vm.prank(address(timelock));
        ledger.revokeRole(role, operator);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, operator, role
            )
        );
        vm.prank(operator);
        ledger.anchor(1, bytes32(uint256(1)), 1);
    }

    /// Finding: the operator could anchor a future epoch and block the real ones. Epochs are
    /// anchored in order, and governance can remove the latest (future) anchor.
    function test_finding_epochsAnchoredInOrder_governanceRemovesFutureAnchor() public {
        vm.startPrank(operator);
        ledger.anchor(1, keccak256("r1"), 1);
        ledger.anchor(1_000_000, keccak256("future"), 1);
        vm.expectRevert(abi.encodeWithSelector(QueryLedger.EpochOutOfOrder.selector, 2, 1_000_000));
        ledger.anchor(2, keccak256("r2"), 1);
        vm.expectRevert();
        ledger.removeLatestAnchor();
        vm.stopPrank();
        vm.prank(address(timelock));
        ledger.removeLatestAnchor();
        assertEq(ledger.lastEpoch(), 1);
        assertEq(ledger.anchorOf(1_000_000).root, bytes32(0));
        vm.prank(operator);
        ledger.anchor(2, keccak256("r2"), 1);
        assertEq(ledger.lastEpoch(), 2);
    }
}
