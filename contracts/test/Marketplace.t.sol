// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {BaseTest} from "./utils/Base.t.sol";
import {Marketplace} from "../src/Marketplace.sol";
import {DatasetRegistry} from "../src/DatasetRegistry.sol";
import {StandardsRegistry} from "../src/StandardsRegistry.sol";
import {RewardDistributor} from "../src/RewardDistributor.sol";
import {ResearcherCredential} from "../src/ResearcherCredential.sol";

contract MarketplaceTest is BaseTest {
    function setUp() public override {
        super.setUp();
        _listDefault();
    }

    function test_constructor_revertsOnZeroAddress() public {
        address gov = address(timelock);
        vm.expectRevert(Marketplace.ZeroAddress.selector);
        new Marketplace(IERC20(address(0)), datasets, standards, distributor, credentials, gov);
        vm.expectRevert(Marketplace.ZeroAddress.selector);
        new Marketplace(
            token, DatasetRegistry(address(0)), standards, distributor, credentials, gov
        );
        vm.expectRevert(Marketplace.ZeroAddress.selector);
        new Marketplace(
            token, datasets, StandardsRegistry(address(0)), distributor, credentials, gov
        );
        vm.expectRevert(Marketplace.ZeroAddress.selector);
        new Marketplace(token, datasets, standards, RewardDistributor(address(0)), credentials, gov);
        vm.expectRevert(Marketplace.ZeroAddress.selector);
        new Marketplace(
            token, datasets, standards, distributor, ResearcherCredential(address(0)), gov
        );
        vm.expectRevert(Marketplace.ZeroAddress.selector);
        new Marketplace(token, datasets, standards, distributor, credentials, address(0));
    }

    /// Finding: tokens sent to the marketplace by mistake (the payment token or another) were
    /// locked forever. Governance alone sends them back; purchases are unaffected, since the
    /// marketplace holds nothing that is owed.
    function test_finding_governanceRecoversStrayTokensFromMarketplace() public {
        vm.prank(researcher);
        token.transfer(address(marketplace), 7 ether);
        assertEq(marketplace.governance(), address(timelock));
        vm.expectRevert(abi.encodeWithSelector(Marketplace.NotGovernance.selector, steward1));
        vm.prank(steward1);
        marketplace.recoverTokens(token, steward1, 7 ether);
        vm.expectEmit(address(marketplace));
        emit Marketplace.TokensRecovered(address(token), researcher, 7 ether);
        vm.prank(address(timelock));
        marketplace.recoverTokens(token, researcher, 7 ether);
        assertEq(token.balanceOf(address(marketplace)), 0);

        uint256 before = token.balanceOf(researcher);
        vm.startPrank(researcher);
        token.approve(address(marketplace), PRICE);
        marketplace.purchaseAccess(DATASET, PRICE, 0);
        vm.stopPrank();
        assertEq(token.balanceOf(researcher), before - PRICE);
        assertTrue(marketplace.hasAccess(researcher, DATASET));
    }

    function test_purchaseAccess_splitsPaymentAndGrantsAccess() public {
        vm.prank(researcher);
        token.approve(address(marketplace), PRICE);
        uint64 expected = uint64(block.timestamp) + DURATION;
        vm.expectEmit(address(marketplace));
        emit Marketplace.AccessPurchased(
            DATASET, researcher, steward1, PRICE, 30 ether, 60 ether, 10 ether, treasury, expected
        );
        vm.expectEmit(address(distributor));
        emit RewardDistributor.PoolFunded(DATASET, address(marketplace), 30 ether, 30 ether);
        vm.prank(researcher);
        uint64 expiresAt = marketplace.purchaseAccess(DATASET, PRICE, 0);

        assertEq(expiresAt, expected);
        assertEq(marketplace.accessExpiry(researcher, DATASET), expected);
        assertTrue(marketplace.hasAccess(researcher, DATASET));
        assertFalse(marketplace.hasAccess(researcher2, DATASET));
        assertEq(token.balanceOf(researcher), INITIAL_BALANCE - PRICE);
        assertEq(token.balanceOf(steward1), 60 ether);
        assertEq(token.balanceOf(treasury), 10 ether);
        assertEq(token.balanceOf(address(distributor)), 30 ether);
        assertEq(token.balanceOf(address(marketplace)), 0);
        (uint256 funded,) = distributor.pool();
        assertEq(funded, 30 ether);
    }

    function test_purchaseAccess_extendsActivePass() public {
        uint64 first = _buy(researcher, DATASET);
        vm.warp(block.timestamp + 10 days);
        uint64 second = _buy(researcher, DATASET);
        assertEq(second, first + DURATION);
    }

    function test_purchaseAccess_restartsExpiredPass() public {
        _buy(researcher, DATASET);
        vm.warp(block.timestamp + DURATION + 5 days);
        assertFalse(marketplace.hasAccess(researcher, DATASET));
        uint64 second = _buy(researcher, DATASET);
        assertEq(second, block.timestamp + DURATION);
        assertTrue(marketplace.hasAccess(researcher, DATASET));
    }

    function test_hasAccess_expiresExactlyAtExpiry() public {
        uint64 expiresAt = _buy(researcher, DATASET);
        vm.warp(expiresAt - 1);
        assertTrue(marketplace.hasAccess(researcher, DATASET));
        vm.warp(expiresAt);
        assertFalse(marketplace.hasAccess(researcher, DATASET));
    }

    function test_hasAccess_survivesDelisting() public {
        _buy(researcher, DATASET);
        vm.prank(steward1);
        datasets.delist(DATASET);
        assertTrue(marketplace.hasAccess(researcher, DATASET));
    }

    function test_purchaseAccess_revertsWhenDelisted() public {
        vm.prank(steward1);
        datasets.delist(DATASET);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.DatasetNotListed.selector, DATASET));
        vm.prank(researcher);
        marketplace.purchaseAccess(DATASET, PRICE, 0);
    }

    function test_purchaseAccess_revertsOnUnknownDataset() public {
        bytes32 unknown = keccak256("unknown");
        vm.expectRevert(abi.encodeWithSelector(Marketplace.DatasetNotListed.selector, unknown));
        vm.prank(researcher);
        marketplace.purchaseAccess(unknown, PRICE, 0);
    }

    function test_purchaseAccess_revertsWhenPriceAboveMax() public {
        vm.expectRevert(
            abi.encodeWithSelector(Marketplace.PriceAboveMax.selector, DATASET, PRICE, PRICE - 1)
        );
        vm.prank(researcher);
        marketplace.purchaseAccess(DATASET, PRICE - 1, 0);
    }

    function test_purchaseAccess_revertsWithoutAllowance() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(marketplace), 0, 60 ether
            )
        );
        vm.prank(researcher);
        marketplace.purchaseAccess(DATASET, PRICE, 0);
    }

    function test_purchaseAccess_freeDatasetMovesNoTokens() public {
        bytes32 open = keccak256("open-data");
        _list(open, steward2, 0);
        // Free data still needs an accredited researcher.
        vm.expectRevert(abi.encodeWithSelector(Marketplace.NotAccredited.selector, outsider));
        vm.prank(outsider);
        marketplace.purchaseAccess(open, 0, 0);
        uint256 balance = token.balanceOf(researcher2);
        vm.prank(researcher2);
        uint64 expiresAt = marketplace.purchaseAccess(open, 0, 0);
        assertEq(expiresAt, block.timestamp + DURATION);
        assertTrue(marketplace.hasAccess(researcher2, open));
        assertEq(token.balanceOf(steward2), 0);
        assertEq(token.balanceOf(researcher2), balance);
    }

    function test_purchaseAccessWithPermit_oneTransaction() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) =
            _permit(researcherKey, address(marketplace), PRICE, deadline);
        vm.prank(researcher);
        uint64 expiresAt =
            marketplace.purchaseAccessWithPermit(DATASET, PRICE, 0, deadline, v, r, s);
        assertEq(expiresAt, block.timestamp + DURATION);
        assertTrue(marketplace.hasAccess(researcher, DATASET));
        assertEq(token.allowance(researcher, address(marketplace)), 0);
        assertEq(token.nonces(researcher), 1);
    }

    function test_purchaseAccessWithPermit_succeedsWhenPermitFrontRun() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) =
            _permit(researcherKey, address(marketplace), PRICE, deadline);
        // Someone submits the permit first; the purchase must still go through.
        token.permit(researcher, address(marketplace), PRICE, deadline, v, r, s);
        vm.prank(researcher);
        marketplace.purchaseAccessWithPermit(DATASET, PRICE, 0, deadline, v, r, s);
        assertTrue(marketplace.hasAccess(researcher, DATASET));
    }

    function test_purchaseAccessWithPermit_revertsWhenPermitInvalid() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) =
            _permit(researcher2Key, address(marketplace), PRICE, deadline);
        vm.expectRevert(Marketplace.PermitFailed.selector);
        vm.prank(researcher);
        marketplace.purchaseAccessWithPermit(DATASET, PRICE, 0, deadline, v, r, s);
    }

    function test_purchaseAccessWithPermit_revertsWhenPermitExpired() public {
        uint256 deadline = block.timestamp - 1;
        (uint8 v, bytes32 r, bytes32 s) =
            _permit(researcherKey, address(marketplace), PRICE, deadline);
        vm.expectRevert(Marketplace.PermitFailed.selector);
        vm.prank(researcher);
        marketplace.purchaseAccessWithPermit(DATASET, PRICE, 0, deadline, v, r, s);
    }

    function test_purchaseAccessWithPermit_revertsWhenDelisted() public {
        vm.prank(steward1);
        datasets.delist(DATASET);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.DatasetNotListed.selector, DATASET));
        vm.prank(researcher);
        marketplace.purchaseAccessWithPermit(DATASET, PRICE, 0, block.timestamp, 27, 0, 0);
    }

    function test_purchaseAccessWithPermit_revertsWhenPriceAboveMax() public {
        vm.expectRevert(
            abi.encodeWithSelector(Marketplace.PriceAboveMax.selector, DATASET, PRICE, 1 ether)
        );
        vm.prank(researcher);
        marketplace.purchaseAccessWithPermit(DATASET, 1 ether, 0, block.timestamp, 27, 0, 0);
    }

    function testFuzz_purchaseWithPermit_deadline(uint256 deadline, uint256 delay) public {
        deadline = bound(deadline, block.timestamp, block.timestamp + 365 days);
        delay = bound(delay, 0, 400 days);
        (uint8 v, bytes32 r, bytes32 s) =
            _permit(researcherKey, address(marketplace), PRICE, deadline);
        vm.warp(block.timestamp + delay);
        vm.prank(researcher);
        if (block.timestamp > deadline) {
            vm.expectRevert(Marketplace.PermitFailed.selector);
            marketplace.purchaseAccessWithPermit(DATASET, PRICE, 0, deadline, v, r, s);
        } else {
            marketplace.purchaseAccessWithPermit(DATASET, PRICE, 0, deadline, v, r, s);
            assertTrue(marketplace.hasAccess(researcher, DATASET));
        }
    }

    function testFuzz_purchase_splitConservesPayment(
        uint96 price,
        uint16 patientsBps,
        uint16 treasuryBps
    ) public {
        price = uint96(bound(price, 0, INITIAL_BALANCE));
        patientsBps = uint16(bound(patientsBps, 0, 10_000));
        treasuryBps = uint16(bound(treasuryBps, 0, 10_000 - patientsBps));
        vm.prank(address(timelock));
        standards.setFeeSplit(patientsBps, 10_000 - patientsBps - treasuryBps, treasuryBps);
        vm.prank(steward1);
        datasets.setPrice(DATASET, price);

        (uint256 quoted, uint256 p, uint256 s, uint256 t) = marketplace.quote(DATASET);
        _buy(researcher, DATASET);

        assertEq(quoted, price);
        assertEq(p + s + t, price);
        assertEq(p, uint256(price) * patientsBps / 10_000);
        assertEq(t, uint256(price) * treasuryBps / 10_000);
        assertEq(token.balanceOf(researcher), INITIAL_BALANCE - price);
        assertEq(token.balanceOf(steward1), s);
        assertEq(token.balanceOf(treasury), t);
        assertEq(token.balanceOf(address(distributor)), p);
        assertEq(token.balanceOf(address(marketplace)), 0);
        (uint256 funded,) = distributor.pool();
        assertEq(funded, p);
    }

    function testFuzz_purchase_repeatedExtendsByDuration(uint8 times, uint32 gap) public {
        times = uint8(bound(times, 1, 12));
        uint64 expiry;
        for (uint256 i = 0; i < times; ++i) {
            vm.warp(block.timestamp + bound(gap, 0, 60 days));
            uint64 start = expiry > block.timestamp ? expiry : uint64(block.timestamp);
            expiry = _buy(researcher, DATASET);
            assertEq(expiry, start + DURATION);
        }
    }

    function test_quote_revertsWhenDelisted() public {
        vm.prank(steward1);
        datasets.delist(DATASET);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.DatasetNotListed.selector, DATASET));
        marketplace.quote(DATASET);
    }

    function test_purchase_usesCurrentTreasury() public {
        vm.prank(address(timelock));
        standards.setTreasury(outsider);
        _buy(researcher, DATASET);
        assertEq(token.balanceOf(outsider), 10 ether);
        assertEq(token.balanceOf(treasury), 0);
    }

    /// Finding: a steward could front-run a purchase with setAccessDuration(id, 1); the price
    /// was protected by maxPrice, the duration was not. The buyer now names a minimum expiry.
    function test_finding_frontRunDurationCutRevertsOnMinExpiry() public {
        uint64 wanted = uint64(block.timestamp) + DURATION;
        vm.prank(steward1);
        datasets.setAccessDuration(DATASET, 1);
        vm.startPrank(researcher);
        token.approve(address(marketplace), PRICE);
        vm.expectRevert(
            abi.encodeWithSelector(
                Marketplace.ExpiryBelowMin.selector, DATASET, uint64(block.timestamp) + 1, wanted
            )
        );
        marketplace.purchaseAccess(DATASET, PRICE, wanted);
        vm.stopPrank();
        assertEq(token.balanceOf(researcher), INITIAL_BALANCE, "nothing paid");
    }

    /// Finding: nothing could be paused. The guardian pauses purchases; passes keep working.
    function test_finding_guardianPausesPurchases() public {
        _buy(researcher, DATASET);
        vm.expectRevert(
            abi.encodeWithSelector(StandardsRegistry.NotGuardianOrGovernance.selector, outsider)
        );
        vm.prank(outsider);
        standards.setPurchasesPaused(true);
        vm.prank(guardian);
        standards.setPurchasesPaused(true);
        vm.startPrank(researcher2);
        token.approve(address(marketplace), PRICE);
        vm.expectRevert(Marketplace.PurchasesPaused.selector);
        marketplace.purchaseAccess(DATASET, PRICE, 0);
        vm.stopPrank();
        assertTrue(marketplace.hasAccess(researcher, DATASET), "passes keep working");
        vm.prank(guardian);
        standards.setPurchasesPaused(false);
        _buy(researcher2, DATASET);
    }
}
