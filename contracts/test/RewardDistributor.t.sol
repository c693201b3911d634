// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CohortToken} from "../src/CohortToken.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {BaseTest} from "./utils/Base.t.sol";
import {RewardDistributor} from "../src/RewardDistributor.sol";
import {Merkle} from "./utils/Merkle.sol";

contract RewardDistributorTest is BaseTest {
    string internal fixture;
    bytes32 internal fixtureDataset;

    function setUp() public override {
        super.setUp();
        fixture = vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/merkle.json"));
        fixtureDataset = vm.parseJsonBytes32(fixture, ".datasetId");
    }

    function _fund(bytes32 datasetId, uint256 amount) internal {
        vm.startPrank(researcher);
        token.approve(address(distributor), amount);
        distributor.fund(datasetId, amount);
        vm.stopPrank();
    }

    function _post(bytes32 datasetId, uint256 epoch, bytes32 root, uint256 total) internal {
        vm.prank(operator);
        distributor.postRoot(datasetId, epoch, root, total);
    }

    function _postSmallFixture(uint256 epoch) internal returns (uint256 total) {
        total = vm.parseJsonUint(fixture, ".small.total");
        _post(fixtureDataset, epoch, vm.parseJsonBytes32(fixture, ".small.root"), total);
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
        c.datasetId = fixtureDataset;
        c.epoch = vm.parseJsonUint(fixture, string.concat(path, ".epoch"));
        c.amount = vm.parseJsonUint(fixture, string.concat(path, ".amount"));
        c.proof = vm.parseJsonBytes32Array(fixture, string.concat(path, ".proof"));
    }

    function _postBench(uint256 i) internal {
        string memory path = string.concat(".bench.epochs[", vm.toString(i), "]");
        _post(
            fixtureDataset,
            vm.parseJsonUint(fixture, string.concat(path, ".epoch")),
            vm.parseJsonBytes32(fixture, string.concat(path, ".root")),
            vm.parseJsonUint(fixture, string.concat(path, ".total"))
        );
    }

    function test_constructor_revertsOnZeroToken() public {
        vm.expectRevert(RewardDistributor.InvalidToken.selector);
        new RewardDistributor(IERC20(address(0)), address(timelock), address(marketplace), 0, 1 days);
    }

    function test_roles() public view {
        assertTrue(distributor.hasRole(distributor.DEFAULT_ADMIN_ROLE(), address(timelock)));
        assertTrue(distributor.hasRole(distributor.OPERATOR_ROLE(), operator));
        assertEq(distributor.funder(), address(marketplace));
    }

    function test_fund_pullsAndEmits() public {
        vm.startPrank(researcher);
        token.approve(address(distributor), 5 ether);
        vm.expectEmit(address(distributor));
        emit RewardDistributor.PoolFunded(DATASET, researcher, 5 ether, 5 ether);
        distributor.fund(DATASET, 5 ether);
        vm.stopPrank();
        (uint256 funded, uint256 allocated) = distributor.pool(DATASET);
        assertEq(funded, 5 ether);
        assertEq(allocated, 0);
        assertEq(token.balanceOf(address(distributor)), 5 ether);
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

    function test_postRoot_storesAndEmits() public {
        _fund(fixtureDataset, 20 ether);
        bytes32 root = vm.parseJsonBytes32(fixture, ".small.root");
        vm.expectEmit(address(distributor));
        emit RewardDistributor.RootPosted(
            fixtureDataset, 1, root, 15 ether, uint64(block.timestamp), uint64(block.timestamp + CLAIM_WINDOW)
        );
        _postSmallFixture(1);
        (bytes32 r, uint256 total, uint256 claimed,,) = distributor.epochOf(fixtureDataset, 1);
        assertEq(r, root);
        assertEq(total, 15 ether);
        assertEq(claimed, 0);
        (, uint256 allocated) = distributor.pool(fixtureDataset);
        assertEq(allocated, 15 ether);
    }

    function test_postRoot_revertsWhenNotOperator() public {
        bytes32 role = distributor.OPERATOR_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, outsider, role
            )
        );
        vm.prank(outsider);
        distributor.postRoot(DATASET, 1, bytes32(uint256(1)), 1);
    }

    function test_postRoot_revertsOnZeroRoot() public {
        vm.expectRevert(RewardDistributor.InvalidRoot.selector);
        _post(DATASET, 1, bytes32(0), 1);
    }

    function test_postRoot_revertsOnZeroTotal() public {
        vm.expectRevert(RewardDistributor.ZeroTotal.selector);
        _post(DATASET, 1, bytes32(uint256(1)), 0);
    }

    function test_postRoot_revertsWhenAlreadyPosted() public {
        _fund(fixtureDataset, 40 ether);
        _postSmallFixture(1);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.EpochAlreadyPosted.selector, fixtureDataset, 1)
        );
        _post(fixtureDataset, 1, bytes32(uint256(1)), 1);
    }

    function test_postRoot_revertsBeyondUnallocatedFunds() public {
        _fund(DATASET, 10 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                RewardDistributor.InsufficientPool.selector, DATASET, 10 ether, 11 ether
            )
        );
        _post(DATASET, 1, bytes32(uint256(1)), 11 ether);
        _post(DATASET, 1, bytes32(uint256(1)), 6 ether);
        vm.expectRevert(
            abi.encodeWithSelector(
                RewardDistributor.InsufficientPool.selector, DATASET, 4 ether, 5 ether
            )
        );
        _post(DATASET, 2, bytes32(uint256(2)), 5 ether);
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
        _post(DATASET, 1, bytes32(uint256(1)), 1);
    }

    /// Every proof of the fixture tree comes from the JS StandardMerkleTree.
    function test_claim_acceptsJsLibraryProofs() public {
        _fund(fixtureDataset, 15 ether);
        _postSmallFixture(1);
        for (uint256 i = 0; i < 5; ++i) {
            (address account, uint256 amount, bytes32[] memory proof) = _smallClaim(i);
            assertEq(distributor.leafOf(account, amount), Merkle.leaf(account, amount));
            vm.expectEmit(address(distributor));
            emit RewardDistributor.Claimed(fixtureDataset, 1, account, amount);
            vm.prank(outsider); // anyone may submit; tokens go to the account
            distributor.claim(account, fixtureDataset, 1, amount, proof);
            assertEq(token.balanceOf(account), amount);
            assertTrue(distributor.isClaimed(fixtureDataset, 1, account));
        }
        (uint256 funded, uint256 allocated) = distributor.pool(fixtureDataset);
        (,, uint256 claimed,,) = distributor.epochOf(fixtureDataset, 1);
        assertEq(claimed, 15 ether);
        assertEq(allocated, funded);
        assertEq(token.balanceOf(address(distributor)), 0);
    }

    function test_claim_revertsOnDoubleClaim() public {
        _fund(fixtureDataset, 15 ether);
        _postSmallFixture(1);
        (address account, uint256 amount, bytes32[] memory proof) = _smallClaim(2);
        distributor.claim(account, fixtureDataset, 1, amount, proof);
        vm.expectRevert(
            abi.encodeWithSelector(
                RewardDistributor.AlreadyClaimed.selector, fixtureDataset, 1, account
            )
        );
        distributor.claim(account, fixtureDataset, 1, amount, proof);
    }

    function test_claim_revertsOnWrongAmount() public {
        _fund(fixtureDataset, 15 ether);
        _postSmallFixture(1);
        (address account, uint256 amount, bytes32[] memory proof) = _smallClaim(0);
        vm.expectRevert(
            abi.encodeWithSelector(
                RewardDistributor.InvalidProof.selector, fixtureDataset, 1, account, amount + 1
            )
        );
        distributor.claim(account, fixtureDataset, 1, amount + 1, proof);
    }

    function test_claim_revertsOnUnknownEpoch() public {
        (address account, uint256 amount, bytes32[] memory proof) = _smallClaim(0);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.UnknownEpoch.selector, fixtureDataset, 9)
        );
        distributor.claim(account, fixtureDataset, 9, amount, proof);
    }

    function test_claim_proofOfOtherDatasetFails() public {
        _fund(fixtureDataset, 15 ether);
        _postSmallFixture(1);
        _fund(DATASET, 15 ether);
        _post(DATASET, 1, keccak256("another tree"), 15 ether);
        (address account, uint256 amount, bytes32[] memory proof) = _smallClaim(0);
        vm.expectRevert(
            abi.encodeWithSelector(
                RewardDistributor.InvalidProof.selector, DATASET, 1, account, amount
            )
        );
        distributor.claim(account, DATASET, 1, amount, proof);
    }

    function test_claim_cappedByEpochTotalWhenTreeIsFaulty() public {
        // The operator's tree pays 6 + 6 but only reserves 10: the second claim must fail.
        address a = makeAddr("a");
        address b = makeAddr("b");
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = Merkle.leaf(a, 6 ether);
        leaves[1] = Merkle.leaf(b, 6 ether);
        _fund(DATASET, 20 ether);
        _post(DATASET, 1, Merkle.rootOf(leaves), 10 ether);
        distributor.claim(a, DATASET, 1, 6 ether, Merkle.proofOf(leaves, 0));
        bytes32[] memory proofB = Merkle.proofOf(leaves, 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                RewardDistributor.EpochOverclaimed.selector, DATASET, 1, 4 ether, 6 ether
            )
        );
        distributor.claim(b, DATASET, 1, 6 ether, proofB);
    }

    function test_claimBatch_tenEpochsOneTransfer() public {
        _fund(fixtureDataset, 10_000 ether);
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
            assertTrue(distributor.isClaimed(fixtureDataset, claims[i].epoch, account));
        }
        vm.expectRevert(
            abi.encodeWithSelector(
                RewardDistributor.AlreadyClaimed.selector, fixtureDataset, 1, account
            )
        );
        distributor.claimBatch(account, claims);
    }

    function test_claimBatch_oneBadEntryRevertsAll() public {
        _fund(fixtureDataset, 10_000 ether);
        RewardDistributor.Claim[] memory claims = new RewardDistributor.Claim[](2);
        _postBench(0);
        _postBench(1);
        claims[0] = _benchClaim(0);
        claims[1] = _benchClaim(1);
        claims[1].amount += 1;
        address account = vm.parseJsonAddress(fixture, ".bench.account");
        vm.expectRevert(
            abi.encodeWithSelector(
                RewardDistributor.InvalidProof.selector,
                fixtureDataset,
                2,
                account,
                claims[1].amount
            )
        );
        distributor.claimBatch(account, claims);
        assertEq(token.balanceOf(account), 0);
    }

    function test_claimBatch_revertsWhenEmpty() public {
        vm.expectRevert(RewardDistributor.EmptyBatch.selector);
        distributor.claimBatch(patient, new RewardDistributor.Claim[](0));
    }

    function test_claimBatch_acrossDatasets() public {
        bytes32[] memory leaves = new bytes32[](1);
        leaves[0] = Merkle.leaf(patient, 3 ether);
        _fund(DATASET, 3 ether);
        _fund(fixtureDataset, 3 ether);
        _post(DATASET, 5, leaves[0], 3 ether);
        _post(fixtureDataset, 5, leaves[0], 3 ether);
        RewardDistributor.Claim[] memory claims = new RewardDistributor.Claim[](2);
        claims[0] = RewardDistributor.Claim(DATASET, 5, 3 ether, new bytes32[](0));
        claims[1] = RewardDistributor.Claim(fixtureDataset, 5, 3 ether, new bytes32[](0));
        assertEq(distributor.claimBatch(patient, claims), 6 ether);
        assertEq(token.balanceOf(patient), 6 ether);
    }

    function testFuzz_claim_epochBitmapIsolatesEpochs(uint256 epochA, uint256 epochB) public {
        epochA = bound(epochA, 1, type(uint256).max - 1);
        epochB = bound(epochB, epochA + 1, type(uint256).max);
        bytes32 leaf = Merkle.leaf(patient, 1 ether);
        _fund(DATASET, 2 ether);
        _post(DATASET, epochA, leaf, 1 ether);
        _post(DATASET, epochB, leaf, 1 ether);
        distributor.claim(patient, DATASET, epochA, 1 ether, new bytes32[](0));
        assertTrue(distributor.isClaimed(DATASET, epochA, patient));
        assertFalse(distributor.isClaimed(DATASET, epochB, patient));
        distributor.claim(patient, DATASET, epochB, 1 ether, new bytes32[](0));
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
        _post(DATASET, 1, Merkle.rootOf(leaves), total);
        for (uint256 i = 0; i < 5; ++i) {
            distributor.claim(accounts[i], DATASET, 1, amounts[i], Merkle.proofOf(leaves, i));
            assertEq(token.balanceOf(accounts[i]), amounts[i]);
        }
        (uint256 funded,) = distributor.pool(DATASET);
        (,, uint256 claimed,,) = distributor.epochOf(DATASET, 1);
        assertEq(claimed, funded);
        assertEq(token.balanceOf(address(distributor)), 0);
    }

    function test_purchaseFundsPoolThatPatientsClaim() public {
        _listDefault();
        _buy(researcher, DATASET);
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = Merkle.leaf(patient, 20 ether);
        leaves[1] = Merkle.leaf(outsider, 10 ether);
        _post(DATASET, 1, Merkle.rootOf(leaves), 30 ether);
        vm.prank(patient);
        distributor.claim(patient, DATASET, 1, 20 ether, Merkle.proofOf(leaves, 0));
        assertEq(token.balanceOf(patient), 20 ether);
    }

    // ---- findings: roots wait out a challenge window, can be vetoed, expire and are reclaimed

    function _withChallengeWindow(uint32 window) internal {
        vm.prank(address(timelock));
        distributor.setWindows(window, CLAIM_WINDOW);
    }

    function _oneLeafRoot(bytes32 id, uint256 epoch, uint256 amount) internal {
        _post(id, epoch, Merkle.leaf(patient, amount), amount);
    }

    /// Finding: a posted root took effect at once and could not be cancelled.
    function test_finding_rootClaimableOnlyAfterChallengeWindow() public {
        _withChallengeWindow(3 days);
        _fund(DATASET, 1 ether);
        _oneLeafRoot(DATASET, 1, 1 ether);
        (,,, uint256 claimableAt,) = distributor.epochOf(DATASET, 1);
        assertEq(claimableAt, block.timestamp + 3 days);
        vm.expectRevert(
            abi.encodeWithSelector(
                RewardDistributor.NotYetClaimable.selector, DATASET, 1, claimableAt
            )
        );
        distributor.claim(patient, DATASET, 1, 1 ether, new bytes32[](0));
        vm.warp(claimableAt);
        distributor.claim(patient, DATASET, 1, 1 ether, new bytes32[](0));
        assertEq(token.balanceOf(patient), 1 ether);
    }

    function test_finding_guardianVetoesRootInChallengeWindow() public {
        _withChallengeWindow(3 days);
        _fund(DATASET, 1 ether);
        _oneLeafRoot(DATASET, 1, 1 ether);
        vm.expectEmit(address(distributor));
        emit RewardDistributor.RootVetoed(DATASET, 1, guardian);
        vm.prank(guardian);
        distributor.veto(DATASET, 1);
        (bytes32 root,,,,) = distributor.epochOf(DATASET, 1);
        assertEq(root, bytes32(0));
        (, uint256 allocated) = distributor.pool(DATASET);
        assertEq(allocated, 0, "vetoed total is unallocated again");
        vm.warp(block.timestamp + 3 days);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.UnknownEpoch.selector, DATASET, 1));
        distributor.claim(patient, DATASET, 1, 1 ether, new bytes32[](0));
        // The operator may post a corrected root for the same epoch.
        _oneLeafRoot(DATASET, 1, 0.5 ether);
    }

    function test_veto_byGovernanceOnly_andNotAfterChallenge() public {
        _withChallengeWindow(1 days);
        _fund(DATASET, 2 ether);
        _oneLeafRoot(DATASET, 1, 1 ether);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.NotGuardianOrGovernance.selector, operator)
        );
        vm.prank(operator);
        distributor.veto(DATASET, 1);
        vm.warp(block.timestamp + 1 days);
        vm.expectRevert(abi.encodeWithSelector(RewardDistributor.ChallengeOver.selector, DATASET, 1));
        vm.prank(address(timelock));
        distributor.veto(DATASET, 1);
    }

    /// Finding: the operator could post a future epoch and block the real ones; epochs are
    /// now in order, and vetoing the future one frees the real ones again.
    function test_finding_epochsPostedInOrder_vetoedFutureEpochFreesRealOnes() public {
        _withChallengeWindow(1 days);
        _fund(DATASET, 3 ether);
        _oneLeafRoot(DATASET, 1, 1 ether);
        _oneLeafRoot(DATASET, 1_000_000, 1 ether);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.EpochOutOfOrder.selector, DATASET, 2, 1_000_000)
        );
        vm.prank(operator);
        distributor.postRoot(DATASET, 2, Merkle.leaf(patient, 1 ether), 1 ether);
        vm.prank(guardian);
        distributor.veto(DATASET, 1_000_000);
        assertEq(distributor.lastEpoch(DATASET), 1);
        _oneLeafRoot(DATASET, 2, 1 ether);
    }

    /// Finding: a guardian can pause claims of roots not yet claimable (buying governance time
    /// to veto), but never withdrawals of what was already claimable.
    function test_finding_guardianPauseHoldsNewRootsButNotClaimableOnes() public {
        _withChallengeWindow(1 days);
        _fund(DATASET, 2 ether);
        _oneLeafRoot(DATASET, 1, 1 ether);
        vm.warp(block.timestamp + 1 days);
        _post(DATASET, 2, Merkle.leaf(patient, 1 ether), 1 ether);
        vm.prank(guardian);
        distributor.setClaimsPaused(true);
        vm.warp(block.timestamp + 2 days);
        // Epoch 1 was claimable before the pause: still paid.
        distributor.claim(patient, DATASET, 1, 1 ether, new bytes32[](0));
        // Epoch 2 became claimable during the pause: held, and still vetoable.
        (,,, uint256 claimableAt,) = distributor.epochOf(DATASET, 2);
        vm.expectRevert(
            abi.encodeWithSelector(
                RewardDistributor.NotYetClaimable.selector, DATASET, 2, claimableAt
            )
        );
        distributor.claim(patient, DATASET, 2, 1 ether, new bytes32[](0));
        vm.prank(outsider);
        vm.expectRevert();
        distributor.setClaimsPaused(false);
        vm.prank(guardian);
        distributor.setClaimsPaused(false);
        distributor.claim(patient, DATASET, 2, 1 ether, new bytes32[](0));
        assertEq(token.balanceOf(patient), 2 ether);
    }

    /// Finding: unclaimed rewards were locked forever, including a tree whose leaves sum to
    /// less than its total. After the claim window, reclaimExpired returns the rest to the pool.
    function test_finding_reclaimExpiredReturnsUnclaimedToPool() public {
        _fund(DATASET, 10 ether);
        // The tree pays 1 ether but claims a total of 4.
        _post(DATASET, 1, Merkle.leaf(patient, 1 ether), 4 ether);
        distributor.claim(patient, DATASET, 1, 1 ether, new bytes32[](0));
        vm.expectRevert();
        distributor.reclaimExpired(DATASET, 1);
        vm.warp(block.timestamp + CLAIM_WINDOW);
        vm.expectEmit(address(distributor));
        emit RewardDistributor.Reclaimed(DATASET, 1, 3 ether);
        assertEq(distributor.reclaimExpired(DATASET, 1), 3 ether);
        (uint256 funded, uint256 allocated) = distributor.pool(DATASET);
        assertEq(funded, 10 ether);
        assertEq(allocated, 1 ether, "only what was claimed stays allocated");
        (, uint256 total, uint256 claimed,,) = distributor.epochOf(DATASET, 1);
        assertEq(total, claimed);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.NothingToReclaim.selector, DATASET, 1)
        );
        distributor.reclaimExpired(DATASET, 1);
        // The returned 3 ether (plus the 6 never allocated) fund a later root.
        _post(DATASET, 2, Merkle.leaf(patient, 9 ether), 9 ether);
    }

    function test_claim_revertsAfterClaimWindow() public {
        _fund(DATASET, 1 ether);
        _oneLeafRoot(DATASET, 1, 1 ether);
        (,,,, uint256 expiresAt) = distributor.epochOf(DATASET, 1);
        vm.warp(expiresAt);
        vm.expectRevert(
            abi.encodeWithSelector(RewardDistributor.ClaimWindowOver.selector, DATASET, 1, expiresAt)
        );
        distributor.claim(patient, DATASET, 1, 1 ether, new bytes32[](0));
    }

    /// Finding: tokens sent to the distributor by mistake were locked forever.
    function test_finding_governanceRecoversStrayTokens() public {
        CohortToken stray = new CohortToken("Stray", "STR", _single(address(distributor)), _single(5 ether));
        vm.expectRevert();
        vm.prank(operator);
        distributor.recoverTokens(stray, outsider, 5 ether);
        vm.prank(address(timelock));
        distributor.recoverTokens(stray, outsider, 5 ether);
        assertEq(stray.balanceOf(outsider), 5 ether);
        vm.expectRevert(RewardDistributor.RewardTokenNotRecoverable.selector);
        vm.prank(address(timelock));
        distributor.recoverTokens(token, outsider, 1);
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
