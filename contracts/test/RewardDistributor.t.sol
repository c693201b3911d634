// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CohortToken} from "../src/CohortToken.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Vm} from "forge-std/Vm.sol";
import {BaseTest} from "./utils/Base.t.sol";
import {RewardDistributor} from "../src/RewardDistributor.sol";
import {Merkle} from "./utils/Merkle.sol";

contract RewardDistributorTest is BaseTest {
    bytes32 internal constant OTHER_DATASET = keccak256("dataset/respiratory");

    string internal fixture;
    /// The leaf amount of each single-leaf root the sequence fuzz test posts.
    mapping(uint256 epoch => uint256) internal _fuzzLeaf;

    function setUp() public override {
        super.setUp();
        fixture = vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/merkle.json"));
    }

    function _fund(bytes32 datasetId, uint256 amount) internal {
        vm.startPrank(researcher);
        token.approve(address(distributor), amount);
        distributor.fund(datasetId, amount);
        vm.stopPrank();
    }

    function _post(uint256 epoch, bytes32 root, uint256 total) internal {
        vm.prank(operator);
        distributor.postRoot(epoch, root, total);
    }

    function _postSmallFixture(uint256 epoch) internal returns (uint256 total) {
        total = vm.parseJsonUint(fixture, ".small.total");
        _post(epoch, vm.parseJsonBytes32(fixture, ".small.root"), total);
    }

    function _smallClaim(uint256 i)
        internal
        view
        returns (address account, uint256 amount, bytes32[] memory proof)
    {
        string memory path = string.concat(".small.claims[", vm.toString(i), "]");
        account = vm.parseJsonAddress(fixture, string.concat(path, ".account"));
        amount = vm.parseJsonUint(fixture, string.concat(path, ".amount"));
        proof = vm.parseJsonBytes32Array(fixture, string.concat(path, ".proof"));
    }

    function _benchClaim(uint256 i) internal view returns (RewardDistributor.Claim memory c) {
        string memory path = string.concat(".bench.epochs[", vm.toString(i), "]");
        c.epoch = vm.parseJsonUint(fixture, string.concat(path, ".epoch"));
        c.amount = vm.parseJsonUint(fixture, string.concat(path, ".amount"));
        c.proof = vm.parseJsonBytes32Array(fixture, string.concat(path, ".proof"));
    }

    function _postBench(uint256 i) internal {
        string memory path = string.concat(".bench.epochs[", vm.toString(i), "]");
        _post(
            vm.parseJsonUint(fixture, string.concat(path, ".epoch")),
            vm.parseJsonBytes32(fixture, string.concat(path, ".root")),
            vm.parseJsonUint(fixture, string.concat(path, ".total"))
        );
    }

    /// A tree of one leaf: its root is the leaf and its proof is empty.
    function _oneLeafRoot(uint256 epoch, uint256 amount) internal {
        _post(epoch, Merkle.leaf(patient, amount), amount);
    }

    function _claimOneLeaf(uint256 epoch, uint256 amount) internal {
        distributor.claim(patient, epoch, amount, new bytes32[](0));
    }

    /// A plain transfer to the distributor: not funding, a stray.
    function _sendStray(uint256 amount) internal {
        vm.prank(researcher2);
        require(token.transfer(address(distributor), amount), "transfer");
    }

    function _withChallengeWindow(uint32 window) internal {
        vm.prank(address(timelock));
        distributor.setWindows(window, CLAIM_WINDOW);
    }

    function _claimedSoFar() internal view returns (uint256 claimed) {
        for (uint256 i = 0; i < distributor.postedEpochCount(); ++i) {
            (,, uint256 epochClaimed,,) = distributor.epochOf(distributor.postedEpochs(i));
            claimed += epochClaimed;
        }
    }

    // ---- construction and roles

    function test_constructor_revertsOnZeroToken() public {
        vm.expectRevert(RewardDistributor.InvalidToken.selector);
        new RewardDistributor(
            IERC20(address(0)), address(timelock), address(marketplace), 0, 1 days
        );
    }

    function test_roles() public view {
        assertTrue(distributor.hasRole(distributor.DEFAULT_ADMIN_ROLE(), address(timelock)));
        assertTrue(distributor.hasRole(distributor.OPERATOR_ROLE(), operator));
        assertEq(distributor.funder(), address(marketplace));
    }

    // ---- funding: one pool for every dataset

    /// Funds from the researcher and expects the event with the pool's new total.
    function _fundExpectingEvent(bytes32 datasetId, uint256 amount, uint256 fundedAfter) internal {
        vm.startPrank(researcher);
        token.approve(address(distributor), amount);
        vm.expectEmit(address(distributor));
        emit RewardDistributor.PoolFunded(datasetId, researcher, amount, fundedAfter);
        distributor.fund(datasetId, amount);
        vm.stopPrank();
    }

    function test_fund_pullsAndEmits() public {
        _fundExpectingEvent(DATASET, 5 ether, 5 ether);
        (uint256 funded, uint256 allocated) = distributor.pool();
        assertEq(funded, 5 ether);
        assertEq(allocated, 0);
        assertEq(token.balanceOf(address(distributor)), 5 ether);
        assertEq(distributor.owed(), 5 ether);
    }

    function test_fund_everyDatasetFundsTheOnePool() public {
        _fund(DATASET, 5 ether);
        _fundExpectingEvent(OTHER_DATASET, 3 ether, 8 ether);
        (uint256 funded,) = distributor.pool();
        assertEq(funded, 8 ether);
        // One root spends funding of both datasets.
        _oneLeafRoot(1, 8 ether);
        _claimOneLeaf(1, 8 ether);
        assertEq(token.balanceOf(patient), 8 ether);
    }

    function test_fund_revertsOnZeroAmount() public {
        vm.expectRevert(RewardDistributor.ZeroAmount.selector);
        distributor.fund(DATASET, 0);
    }

    function test_notifyFunding_revertsWhenNotFunder() public {
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.NotFunder.selector, outsider));
        vm.prank(outsider);
        distributor.notifyFunding(DATASET, 1);
    }

    function test_notifyFunding_revertsOnZeroAmount() public {
        vm.expectRevert(RewardDistributor.ZeroAmount.selector);
        vm.prank(address(marketplace));
        distributor.notifyFunding(DATASET, 0);
    }

    function test_purchasesOfTwoDatasetsFundOneRoot() public {
        _listDefault();
        _list(OTHER_DATASET, steward2, PRICE);
        _buy(researcher, DATASET);
        _buy(researcher2, OTHER_DATASET);
        (uint256 funded,) = distributor.pool();
        (, uint256 perPurchase,,) = marketplace.quote(DATASET);
        assertEq(funded, 2 * perPurchase);
        // One payout address earned from both datasets: one leaf with the sum.
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = Merkle.leaf(patient, perPurchase + perPurchase / 2);
        leaves[1] = Merkle.leaf(outsider, perPurchase / 2);
        _post(1, Merkle.rootOf(leaves), 2 * perPurchase);
        distributor.claim(patient, 1, perPurchase + perPurchase / 2, Merkle.proofOf(leaves, 0));
        distributor.claim(outsider, 1, perPurchase / 2, Merkle.proofOf(leaves, 1));
        assertEq(token.balanceOf(patient), perPurchase + perPurchase / 2);
        assertEq(token.balanceOf(address(distributor)), 0);
        assertEq(distributor.owed(), 0);
    }

    // ---- posting roots

    function test_postRoot_storesAndEmits() public {
        _fund(DATASET, 20 ether);
        bytes32 root = vm.parseJsonBytes32(fixture, ".small.root");
        vm.expectEmit(address(distributor));
        emit RewardDistributor.RootPosted(
            1, root, 15 ether, uint64(block.timestamp), uint64(block.timestamp + CLAIM_WINDOW)
        );
        _postSmallFixture(1);
        (bytes32 r, uint256 total, uint256 claimed,,) = distributor.epochOf(1);
        assertEq(r, root);
        assertEq(total, 15 ether);
        assertEq(claimed, 0);
        (, uint256 allocated) = distributor.pool();
        assertEq(allocated, 15 ether);
        assertEq(distributor.lastEpoch(), 1);
        assertEq(distributor.postedEpochCount(), 1);
        assertEq(distributor.postedEpochs(0), 1);
    }

    function test_postRoot_allowsGapsBetweenEpochs() public {
        _fund(DATASET, 2 ether);
        assertEq(distributor.lastEpoch(), 0);
        _oneLeafRoot(3, 1 ether);
        _oneLeafRoot(10, 1 ether);
        assertEq(distributor.lastEpoch(), 10);
        assertEq(distributor.postedEpochCount(), 2);
        (bytes32 root,,,,) = distributor.epochOf(5);
        assertEq(root, bytes32(0), "skipped epochs have no root");
        _claimOneLeaf(10, 1 ether);
        _claimOneLeaf(3, 1 ether);
    }

    function test_postRoot_revertsWhenNotOperator() public {
        bytes32 role = distributor.OPERATOR_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, outsider, role
            )
        );
        vm.prank(outsider);
        distributor.postRoot(1, bytes32(uint256(1)), 1);
    }

    function test_postRoot_revertsOnZeroRoot() public {
        vm.expectRevert(RewardDistributor.InvalidRoot.selector);
        _post(1, bytes32(0), 1);
    }

    function test_postRoot_revertsOnZeroTotal() public {
        vm.expectRevert(RewardDistributor.ZeroTotal.selector);
        _post(1, bytes32(uint256(1)), 0);
    }

    function test_postRoot_revertsWhenAlreadyPosted() public {
        _fund(DATASET, 40 ether);
        _postSmallFixture(1);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.EpochAlreadyPosted.selector, 1));
        _post(1, bytes32(uint256(1)), 1);
    }

    function test_postRoot_revertsOnEpochZeroOrBelowLast() public {
        _fund(DATASET, 2 ether);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.EpochOutOfOrder.selector, 0, 0));
        _post(0, bytes32(uint256(1)), 1);
        _oneLeafRoot(5, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.EpochOutOfOrder.selector, 4, 5));
        _post(4, bytes32(uint256(1)), 1);
    }

    function test_postRoot_revertsBeyondUnallocatedFunds() public {
        _fund(DATASET, 10 ether);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.InsufficientPool.selector, 10 ether, 11 ether)
        );
        _post(1, bytes32(uint256(1)), 11 ether);
        _post(1, bytes32(uint256(1)), 6 ether);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.InsufficientPool.selector, 4 ether, 5 ether)
        );
        _post(2, bytes32(uint256(2)), 5 ether);
    }

    function test_postRoot_revokedOperatorCannotPost() public {
        bytes32 role = distributor.OPERATOR_ROLE();
        vm.prank(address(timelock));
        distributor.revokeRole(role, operator);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, operator, role
            )
        );
        _post(1, bytes32(uint256(1)), 1);
    }

    // ---- claims

    /// Every proof of the fixture tree comes from the JS StandardMerkleTree.
    function test_claim_acceptsJsLibraryProofs() public {
        _fund(DATASET, 15 ether);
        _postSmallFixture(1);
        for (uint256 i = 0; i < 5; ++i) {
            (address account, uint256 amount, bytes32[] memory proof) = _smallClaim(i);
            assertEq(distributor.leafOf(account, amount), Merkle.leaf(account, amount));
            vm.expectEmit(address(distributor));
            emit RewardDistributor.Claimed(1, account, amount);
            vm.prank(outsider); // anyone may submit; tokens go to the account
            distributor.claim(account, 1, amount, proof);
            assertEq(token.balanceOf(account), amount);
            assertTrue(distributor.isClaimed(1, account));
        }
        (uint256 funded, uint256 allocated) = distributor.pool();
        (,, uint256 claimed,,) = distributor.epochOf(1);
        assertEq(claimed, 15 ether);
        assertEq(allocated, funded);
        assertEq(token.balanceOf(address(distributor)), 0);
    }

    /// Issue 16: nothing the distributor logs while posting and paying a root names a dataset
    /// (only funding does, and purchases are public per dataset anyway).
    function test_claim_logsNameNoDataset() public {
        _listDefault();
        _buy(researcher, DATASET);
        (, uint256 share,,) = marketplace.quote(DATASET);
        vm.recordLogs();
        _oneLeafRoot(1, share);
        _claimOneLeaf(1, share);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertGt(logs.length, 1);
        for (uint256 i = 0; i < logs.length; ++i) {
            for (uint256 t = 0; t < logs[i].topics.length; ++t) {
                assertTrue(logs[i].topics[t] != DATASET, "dataset in a topic");
            }
            bytes memory data = logs[i].data;
            for (uint256 w = 0; w + 32 <= data.length; w += 32) {
                bytes32 word;
                assembly ("memory-safe") {
                    word := mload(add(add(data, 32), w))
                }
                assertTrue(word != DATASET, "dataset in log data");
            }
        }
    }

    function test_claim_revertsOnDoubleClaim() public {
        _fund(DATASET, 15 ether);
        _postSmallFixture(1);
        (address account, uint256 amount, bytes32[] memory proof) = _smallClaim(2);
        distributor.claim(account, 1, amount, proof);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.AlreadyClaimed.selector, 1, account)
        );
        distributor.claim(account, 1, amount, proof);
    }

    function test_claim_revertsOnWrongAmount() public {
        _fund(DATASET, 15 ether);
        _postSmallFixture(1);
        (address account, uint256 amount, bytes32[] memory proof) = _smallClaim(0);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.InvalidProof.selector, 1, account, amount + 1)
        );
        distributor.claim(account, 1, amount + 1, proof);
    }

    function test_claim_revertsOnUnknownEpoch() public {
        (address account, uint256 amount, bytes32[] memory proof) = _smallClaim(0);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.UnknownEpoch.selector, 9));
        distributor.claim(account, 9, amount, proof);
    }

    function test_claim_proofOfOtherEpochFails() public {
        _fund(DATASET, 30 ether);
        _postSmallFixture(1);
        _post(2, keccak256("another tree"), 15 ether);
        (address account, uint256 amount, bytes32[] memory proof) = _smallClaim(0);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.InvalidProof.selector, 2, account, amount)
        );
        distributor.claim(account, 2, amount, proof);
    }

    function test_claim_cappedByEpochTotalWhenTreeIsFaulty() public {
        // The operator's tree pays 6 + 6 but only reserves 10: the second claim must fail.
        address a = makeAddr("a");
        address b = makeAddr("b");
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = Merkle.leaf(a, 6 ether);
        leaves[1] = Merkle.leaf(b, 6 ether);
        _fund(DATASET, 20 ether);
        _post(1, Merkle.rootOf(leaves), 10 ether);
        distributor.claim(a, 1, 6 ether, Merkle.proofOf(leaves, 0));
        bytes32[] memory proofB = Merkle.proofOf(leaves, 1);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.EpochOverclaimed.selector, 1, 4 ether, 6 ether)
        );
        distributor.claim(b, 1, 6 ether, proofB);
    }

    function test_claim_revertsAfterClaimWindow() public {
        _fund(DATASET, 1 ether);
        _oneLeafRoot(1, 1 ether);
        (,,,, uint256 expiresAt) = distributor.epochOf(1);
        vm.warp(expiresAt);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.ClaimWindowOver.selector, 1, expiresAt)
        );
        _claimOneLeaf(1, 1 ether);
    }

    function test_claimBatch_tenEpochsOneTransfer() public {
        _fund(DATASET, 10_000 ether);
        RewardDistributor.Claim[] memory claims = new RewardDistributor.Claim[](10);
        uint256 expected;
        for (uint256 i = 0; i < 10; ++i) {
            _postBench(i);
            claims[i] = _benchClaim(i);
            expected += claims[i].amount;
        }
        address account = vm.parseJsonAddress(fixture, ".bench.account");
        uint256 total = distributor.claimBatch(account, claims);
        assertEq(total, expected);
        assertEq(token.balanceOf(account), expected);
        for (uint256 i = 0; i < 10; ++i) {
            assertTrue(distributor.isClaimed(claims[i].epoch, account));
        }
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.AlreadyClaimed.selector, 1, account)
        );
        distributor.claimBatch(account, claims);
    }

    function test_claimBatch_oneBadEntryRevertsAll() public {
        _fund(DATASET, 10_000 ether);
        RewardDistributor.Claim[] memory claims = new RewardDistributor.Claim[](2);
        _postBench(0);
        _postBench(1);
        claims[0] = _benchClaim(0);
        claims[1] = _benchClaim(1);
        claims[1].amount += 1;
        address account = vm.parseJsonAddress(fixture, ".bench.account");
        vm.expectRevert(
            abi.encodeWithSelector(
                RewardDistributor.InvalidProof.selector, 2, account, claims[1].amount
            )
        );
        distributor.claimBatch(account, claims);
        assertEq(token.balanceOf(account), 0);
        assertFalse(distributor.isClaimed(1, account));
    }

    function test_claimBatch_revertsWhenEmpty() public {
        vm.expectRevert(RewardDistributor.EmptyBatch.selector);
        distributor.claimBatch(patient, new RewardDistributor.Claim[](0));
    }

    function testFuzz_claim_epochBitmapIsolatesEpochs(uint256 epochA, uint256 epochB) public {
        epochA = bound(epochA, 1, type(uint256).max - 1);
        epochB = bound(epochB, epochA + 1, type(uint256).max);
        _fund(DATASET, 2 ether);
        _oneLeafRoot(epochA, 1 ether);
        _oneLeafRoot(epochB, 1 ether);
        _claimOneLeaf(epochA, 1 ether);
        assertTrue(distributor.isClaimed(epochA, patient));
        assertFalse(distributor.isClaimed(epochB, patient));
        _claimOneLeaf(epochB, 1 ether);
        assertEq(token.balanceOf(patient), 2 ether);
    }

    function testFuzz_claim_amountsFromSolidityTree(uint96[5] memory raw) public {
        address[] memory accounts = new address[](5);
        uint256[] memory amounts = new uint256[](5);
        bytes32[] memory leaves = new bytes32[](5);
        uint256 total;
        for (uint256 i = 0; i < 5; ++i) {
            accounts[i] = address(uint160(0x1000 + i));
            amounts[i] = bound(raw[i], 1, 100_000 ether);
            total += amounts[i];
            leaves[i] = Merkle.leaf(accounts[i], amounts[i]);
        }
        _fund(DATASET, total);
        _post(1, Merkle.rootOf(leaves), total);
        for (uint256 i = 0; i < 5; ++i) {
            distributor.claim(accounts[i], 1, amounts[i], Merkle.proofOf(leaves, i));
            assertEq(token.balanceOf(accounts[i]), amounts[i]);
        }
        (uint256 funded,) = distributor.pool();
        (,, uint256 claimed,,) = distributor.epochOf(1);
        assertEq(claimed, funded);
        assertEq(token.balanceOf(address(distributor)), 0);
        assertEq(distributor.owed(), 0);
    }

    function test_purchaseFundsPoolThatPatientsClaim() public {
        _listDefault();
        _buy(researcher, DATASET);
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = Merkle.leaf(patient, 20 ether);
        leaves[1] = Merkle.leaf(outsider, 10 ether);
        _post(1, Merkle.rootOf(leaves), 30 ether);
        vm.prank(patient);
        distributor.claim(patient, 1, 20 ether, Merkle.proofOf(leaves, 0));
        assertEq(token.balanceOf(patient), 20 ether);
    }

    // ---- findings: roots wait out a challenge window, can be vetoed, expire and are reclaimed

    /// Finding: a posted root took effect at once and could not be cancelled.
    function test_finding_rootClaimableOnlyAfterChallengeWindow() public {
        _withChallengeWindow(3 days);
        _fund(DATASET, 1 ether);
        _oneLeafRoot(1, 1 ether);
        (,,, uint256 claimableAt,) = distributor.epochOf(1);
        assertEq(claimableAt, block.timestamp + 3 days);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.NotYetClaimable.selector, 1, claimableAt)
        );
        _claimOneLeaf(1, 1 ether);
        vm.warp(claimableAt);
        _claimOneLeaf(1, 1 ether);
        assertEq(token.balanceOf(patient), 1 ether);
    }

    function test_finding_guardianVetoesRootInChallengeWindow() public {
        _withChallengeWindow(3 days);
        _fund(DATASET, 1 ether);
        _oneLeafRoot(1, 1 ether);
        vm.expectEmit(address(distributor));
        emit RewardDistributor.RootVetoed(1, guardian);
        vm.prank(guardian);
        distributor.veto(1);
        (bytes32 root,,,,) = distributor.epochOf(1);
        assertEq(root, bytes32(0));
        (, uint256 allocated) = distributor.pool();
        assertEq(allocated, 0, "vetoed total is unallocated again");
        assertEq(distributor.lastEpoch(), 0);
        vm.warp(block.timestamp + 3 days);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.UnknownEpoch.selector, 1));
        _claimOneLeaf(1, 1 ether);
        // The operator may post a corrected root for the same epoch; it is listed once.
        _oneLeafRoot(1, 0.5 ether);
        assertEq(distributor.postedEpochCount(), 1);
        assertEq(distributor.owed(), 1 ether);
    }

    function test_veto_byGovernanceOnly_andNotAfterChallenge() public {
        _withChallengeWindow(1 days);
        _fund(DATASET, 2 ether);
        _oneLeafRoot(1, 1 ether);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.NotGuardianOrGovernance.selector, operator)
        );
        vm.prank(operator);
        distributor.veto(1);
        vm.warp(block.timestamp + 1 days);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.ChallengeOver.selector, 1));
        vm.prank(address(timelock));
        distributor.veto(1);
    }

    function test_veto_revertsOnUnknownEpoch() public {
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.UnknownEpoch.selector, 4));
        vm.prank(guardian);
        distributor.veto(4);
    }

    /// Finding: the operator could post a future epoch and block the real ones; epochs are
    /// now in order, and vetoing the future one frees the real ones again.
    function test_finding_epochsPostedInOrder_vetoedFutureEpochFreesRealOnes() public {
        _withChallengeWindow(1 days);
        _fund(DATASET, 3 ether);
        _oneLeafRoot(1, 1 ether);
        _oneLeafRoot(1_000_000, 1 ether);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.EpochOutOfOrder.selector, 2, 1_000_000)
        );
        _post(2, Merkle.leaf(patient, 1 ether), 1 ether);
        vm.prank(guardian);
        distributor.veto(1_000_000);
        assertEq(distributor.lastEpoch(), 1);
        _oneLeafRoot(2, 1 ether);
    }

    /// Vetoing an epoch that is not the latest leaves the latest in place; the vetoed one is
    /// settled (it owes nothing) and cannot be posted again.
    function test_veto_ofEarlierEpochKeepsLatest() public {
        _withChallengeWindow(1 days);
        _fund(DATASET, 3 ether);
        _oneLeafRoot(1, 1 ether);
        _oneLeafRoot(2, 1 ether);
        vm.prank(guardian);
        distributor.veto(1);
        assertEq(distributor.lastEpoch(), 2);
        assertEq(distributor.postedEpochCount(), 2);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.EpochOutOfOrder.selector, 1, 2));
        _post(1, Merkle.leaf(patient, 1 ether), 1 ether);
        assertEq(distributor.owed(), 3 ether);
        assertEq(distributor.advanceSettledCursor(10), 1, "vetoed epoch is settled");
    }

    /// Finding: a guardian can pause claims of roots not yet claimable (buying governance time
    /// to veto), but never withdrawals of what was already claimable.
    function test_finding_guardianPauseHoldsNewRootsButNotClaimableOnes() public {
        _withChallengeWindow(1 days);
        _fund(DATASET, 2 ether);
        _oneLeafRoot(1, 1 ether);
        vm.warp(block.timestamp + 1 days);
        _oneLeafRoot(2, 1 ether);
        vm.prank(guardian);
        distributor.setClaimsPaused(true);
        vm.warp(block.timestamp + 2 days);
        // Epoch 1 was claimable before the pause: still paid.
        _claimOneLeaf(1, 1 ether);
        // Epoch 2 became claimable during the pause: held, and still vetoable.
        (,,, uint256 claimableAt,) = distributor.epochOf(2);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.NotYetClaimable.selector, 2, claimableAt)
        );
        _claimOneLeaf(2, 1 ether);
        vm.prank(outsider);
        vm.expectRevert();
        distributor.setClaimsPaused(false);
        vm.prank(guardian);
        distributor.setClaimsPaused(false);
        _claimOneLeaf(2, 1 ether);
        assertEq(token.balanceOf(patient), 2 ether);
    }

    /// Finding: unclaimed rewards were locked forever, including a tree whose leaves sum to
    /// less than its total. After the claim window, reclaimExpired returns the rest to the pool.
    function test_finding_reclaimExpiredReturnsUnclaimedToPool() public {
        _fund(DATASET, 10 ether);
        // The tree pays 1 ether but claims a total of 4.
        _post(1, Merkle.leaf(patient, 1 ether), 4 ether);
        _claimOneLeaf(1, 1 ether);
        (,,,, uint256 expiresAt) = distributor.epochOf(1);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.ClaimWindowOpen.selector, 1, expiresAt)
        );
        distributor.reclaimExpired(1);
        vm.warp(expiresAt);
        vm.expectEmit(address(distributor));
        emit RewardDistributor.Reclaimed(1, 3 ether);
        assertEq(distributor.reclaimExpired(1), 3 ether);
        (uint256 funded, uint256 allocated) = distributor.pool();
        assertEq(funded, 10 ether);
        assertEq(allocated, 1 ether, "only what was claimed stays allocated");
        (, uint256 total, uint256 claimed,,) = distributor.epochOf(1);
        assertEq(total, claimed);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.NothingToReclaim.selector, 1));
        distributor.reclaimExpired(1);
        assertEq(distributor.owed(), 9 ether);
        // The returned 3 ether (plus the 6 never allocated) fund a later root.
        _post(2, Merkle.leaf(patient, 9 ether), 9 ether);
    }

    function test_reclaimExpired_revertsOnUnknownEpoch() public {
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.UnknownEpoch.selector, 3));
        distributor.reclaimExpired(3);
    }

    /// Finding: tokens sent to the distributor by mistake were locked forever.
    function test_finding_governanceRecoversStrayTokens() public {
        CohortToken stray =
            new CohortToken("Stray", "STR", _single(address(distributor)), _single(5 ether));
        vm.expectRevert();
        vm.prank(operator);
        distributor.recoverTokens(stray, outsider, 5 ether);
        vm.prank(address(timelock));
        distributor.recoverTokens(stray, outsider, 5 ether);
        assertEq(stray.balanceOf(outsider), 5 ether);
    }

    // ---- findings (issue 11 gap): stray reward tokens are recoverable, what is owed is not

    /// Finding: reward tokens sent by plain transfer (not `fund`) were locked forever
    /// (recoverTokens refused the reward token outright).
    function test_finding_governanceRecoversStrayRewardTokens() public {
        _fund(DATASET, 10 ether);
        _oneLeafRoot(1, 6 ether);
        _sendStray(5 ether);
        assertEq(distributor.owed(), 10 ether);
        assertEq(distributor.recoverable(), 5 ether);
        vm.expectEmit(address(distributor));
        emit RewardDistributor.TokensRecovered(address(token), outsider, 5 ether);
        vm.prank(address(timelock));
        distributor.recoverTokens(token, outsider, 5 ether);
        assertEq(token.balanceOf(outsider), 5 ether);
        assertEq(distributor.recoverable(), 0);
        assertEq(token.balanceOf(address(distributor)), 10 ether);
    }

    /// Recovery never takes what is owed: after a partial claim and a stray transfer exactly
    /// the stray is recoverable, one more wei is refused, and every claim still succeeds.
    function test_recoverTokens_neverTakesWhatIsOwed() public {
        uint256 total = vm.parseJsonUint(fixture, ".small.total");
        _fund(DATASET, total + 2 ether); // 2 ether stay unallocated
        _postSmallFixture(1);
        uint256 paid;
        for (uint256 i = 0; i < 2; ++i) {
            (address account, uint256 amount, bytes32[] memory proof) = _smallClaim(i);
            distributor.claim(account, 1, amount, proof);
            paid += amount;
        }
        _sendStray(3 ether);
        assertEq(distributor.owed(), total + 2 ether - paid);
        assertEq(distributor.recoverable(), 3 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                RewardDistributor.ExceedsRecoverable.selector, 3 ether, 3 ether + 1
            )
        );
        vm.prank(address(timelock));
        distributor.recoverTokens(token, outsider, 3 ether + 1);
        vm.prank(address(timelock));
        distributor.recoverTokens(token, outsider, 3 ether);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.ExceedsRecoverable.selector, 0, 1));
        vm.prank(address(timelock));
        distributor.recoverTokens(token, outsider, 1);
        for (uint256 i = 2; i < 5; ++i) {
            (address account, uint256 amount, bytes32[] memory proof) = _smallClaim(i);
            distributor.claim(account, 1, amount, proof);
            assertEq(token.balanceOf(account), amount);
        }
        // The unallocated 2 ether are still there for the next root.
        assertEq(token.balanceOf(address(distributor)), 2 ether);
        assertEq(distributor.owed(), 2 ether);
        _oneLeafRoot(2, 2 ether);
        _claimOneLeaf(2, 2 ether);
        assertEq(token.balanceOf(address(distributor)), 0);
    }

    function test_recoverTokens_revertsWhenNotGovernance() public {
        _sendStray(1 ether);
        bytes32 admin = distributor.DEFAULT_ADMIN_ROLE();
        address[2] memory callers = [operator, guardian];
        for (uint256 i = 0; i < callers.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IAccessControl.AccessControlUnauthorizedAccount.selector, callers[i], admin
                )
            );
            vm.prank(callers[i]);
            distributor.recoverTokens(token, callers[i], 1 ether);
        }
    }

    /// What an expired epoch returns to the pool stays owed (it funds later roots); only the
    /// stray is recoverable, before and after the reclaim.
    function test_recoverable_unchangedByReclaim() public {
        _fund(DATASET, 4 ether);
        _post(1, Merkle.leaf(patient, 1 ether), 4 ether);
        _claimOneLeaf(1, 1 ether);
        _sendStray(0.5 ether);
        assertEq(distributor.recoverable(), 0.5 ether);
        vm.warp(block.timestamp + CLAIM_WINDOW);
        distributor.reclaimExpired(1);
        assertEq(distributor.owed(), 3 ether);
        assertEq(distributor.recoverable(), 0.5 ether);
        distributor.advanceSettledCursor(type(uint256).max);
        assertEq(distributor.settledCursor(), 1);
        assertEq(distributor.owed(), 3 ether);
        assertEq(distributor.recoverable(), 0.5 ether);
    }

    // ---- the settled cursor

    function test_advanceSettledCursor_passesOnlySettledEpochs() public {
        _fund(DATASET, 10 ether);
        _oneLeafRoot(1, 1 ether); // claimed in full below: settled
        _post(2, Merkle.leaf(patient, 1 ether), 2 ether); // claimed in part: unsettled
        _oneLeafRoot(3, 1 ether); // fully claimed, but behind an unsettled epoch
        _claimOneLeaf(1, 1 ether);
        _claimOneLeaf(2, 1 ether);
        _claimOneLeaf(3, 1 ether);
        uint256 owedBefore = distributor.owed();
        assertEq(owedBefore, 7 ether);
        assertEq(distributor.advanceSettledCursor(10), 1);
        assertEq(distributor.settledCursor(), 1);
        assertEq(distributor.owed(), owedBefore, "advancing changes no figure");
        vm.warp(block.timestamp + CLAIM_WINDOW);
        distributor.reclaimExpired(2);
        assertEq(distributor.advanceSettledCursor(10), 3);
        assertEq(distributor.owed(), owedBefore);
        // A new root is walked again.
        _oneLeafRoot(4, 1 ether);
        assertEq(distributor.advanceSettledCursor(10), 3);
        assertEq(distributor.owed(), owedBefore);
    }

    function test_advanceSettledCursor_respectsMaxSteps() public {
        _fund(DATASET, 3 ether);
        for (uint256 epoch = 1; epoch <= 3; ++epoch) {
            _oneLeafRoot(epoch, 1 ether);
            _claimOneLeaf(epoch, 1 ether);
        }
        assertEq(distributor.advanceSettledCursor(0), 0);
        assertEq(distributor.advanceSettledCursor(2), 2);
        assertEq(distributor.advanceSettledCursor(2), 3);
        assertEq(distributor.advanceSettledCursor(2), 3);
    }

    /// An epoch held by the pause past its claim window can be reclaimed (settled, so the
    /// cursor may pass it) and then vetoed; the cursor must come back into the list, or the
    /// same epoch posted again would not be counted as owed and could be "recovered".
    function test_veto_afterReclaimUnderPause_keepsRepostedEpochOwed() public {
        _withChallengeWindow(1 days);
        _fund(DATASET, 1 ether);
        _oneLeafRoot(1, 1 ether);
        vm.prank(guardian);
        distributor.setClaimsPaused(true);
        (,,,, uint256 expiresAt) = distributor.epochOf(1);
        vm.warp(expiresAt);
        distributor.reclaimExpired(1);
        assertEq(distributor.advanceSettledCursor(10), 1);
        vm.prank(guardian);
        distributor.veto(1);
        assertEq(distributor.settledCursor(), 0);
        vm.prank(guardian);
        distributor.setClaimsPaused(false);
        _withChallengeWindow(0);
        _oneLeafRoot(1, 1 ether);
        assertEq(distributor.owed(), 1 ether);
        assertEq(distributor.recoverable(), 0);
        _claimOneLeaf(1, 1 ether);
        assertEq(token.balanceOf(patient), 1 ether);
    }

    /// Random funding, strays, roots, claims, reclaims, vetoes, cursor moves and recoveries:
    /// `recoverable()` is always exactly the strays not yet recovered (never more), `owed()`
    /// is funded minus claimed, and the balance covers it.
    function testFuzz_recoverable_neverExceedsStrays(uint256[24] memory ops) public {
        _withChallengeWindow(1 days);
        uint256 strays;
        uint256 recovered;
        uint256 nextEpoch = 1;
        for (uint256 i = 0; i < ops.length; ++i) {
            uint256 op = ops[i] % 10;
            uint256 value = ops[i] >> 8;
            if (op == 0) {
                _fund(DATASET, bound(value, 1, 5 ether));
            } else if (op == 1) {
                uint256 amount = bound(value, 1, 2 ether);
                _sendStray(amount);
                strays += amount;
            } else if (op == 2) {
                (uint256 funded, uint256 allocated) = distributor.pool();
                if (funded == allocated) continue;
                uint256 total = bound(value, 1, funded - allocated);
                // The leaf pays at most the total (sometimes less: something to reclaim).
                uint256 leafAmount = bound(value >> 128, 1, total);
                _fuzzLeaf[nextEpoch] = leafAmount;
                _post(nextEpoch++, Merkle.leaf(patient, leafAmount), total);
            } else if (op == 3) {
                _tryClaim(bound(value, 1, nextEpoch));
            } else if (op == 4) {
                vm.warp(block.timestamp + bound(value, 1 hours, 200 days));
            } else if (op == 5) {
                uint256 epoch = bound(value, 1, nextEpoch);
                (bytes32 root, uint256 total, uint256 claimed,, uint256 expiresAt) =
                    distributor.epochOf(epoch);
                if (root != bytes32(0) && block.timestamp >= expiresAt && total != claimed) {
                    distributor.reclaimExpired(epoch);
                }
            } else if (op == 6) {
                _tryVeto(bound(value, 1, nextEpoch));
            } else if (op == 7) {
                distributor.advanceSettledCursor(bound(value, 0, 5));
            } else if (op == 8) {
                (,, uint32 pausedSince) = distributor.settings();
                vm.prank(guardian);
                distributor.setClaimsPaused(pausedSince == 0);
            } else {
                uint256 available = distributor.recoverable();
                if (available == 0) continue;
                uint256 amount = bound(value, 1, available);
                vm.prank(address(timelock));
                distributor.recoverTokens(token, outsider, amount);
                recovered += amount;
            }
            assertEq(distributor.recoverable(), strays - recovered, "recoverable != strays");
            (uint256 fundedNow,) = distributor.pool();
            assertEq(distributor.owed(), fundedNow - _claimedSoFar(), "owed != funded - claimed");
            assertGe(token.balanceOf(address(distributor)), distributor.owed(), "insolvent");
        }
    }

    function _tryClaim(uint256 epoch) internal {
        (bytes32 root,,, uint256 claimableAt, uint256 expiresAt) = distributor.epochOf(epoch);
        if (root == bytes32(0) || distributor.isClaimed(epoch, patient)) return;
        if (block.timestamp < claimableAt || block.timestamp >= expiresAt) return;
        (,, uint32 pausedSince) = distributor.settings();
        if (pausedSince != 0 && claimableAt > pausedSince) return;
        _claimOneLeaf(epoch, _fuzzLeaf[epoch]);
    }

    function _tryVeto(uint256 epoch) internal {
        (bytes32 root,,, uint256 claimableAt,) = distributor.epochOf(epoch);
        if (root == bytes32(0)) return;
        (,, uint32 pausedSince) = distributor.settings();
        bool claimable =
            block.timestamp >= claimableAt && (pausedSince == 0 || claimableAt <= pausedSince);
        if (claimable) return;
        vm.prank(guardian);
        distributor.veto(epoch);
    }

    function test_setWindows_boundsAndGovernanceOnly() public {
        vm.expectRevert();
        vm.prank(guardian);
        distributor.setWindows(1 days, 30 days);
        vm.startPrank(address(timelock));
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.InvalidWindow.selector, 31 days, 30 days)
        );
        distributor.setWindows(31 days, 30 days);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.InvalidWindow.selector, 1 days, 1 hours)
        );
        distributor.setWindows(1 days, 1 hours);
        distributor.setWindows(2 days, 30 days);
        vm.stopPrank();
        (uint32 challenge, uint32 claimWindow,) = distributor.settings();
        assertEq(challenge, 2 days);
        assertEq(claimWindow, 30 days);
    }

    function _single(address a) internal pure returns (address[] memory list) {
        list = new address[](1);
        list[0] = a;
    }

    function _single(uint256 v) internal pure returns (uint256[] memory list) {
        list = new uint256[](1);
        list[0] = v;
    }
}
