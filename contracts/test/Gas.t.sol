// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {BaseTest} from "./utils/Base.t.sol";
import {ConsentRegistry} from "../src/ConsentRegistry.sol";
import {RewardDistributor} from "../src/RewardDistributor.sol";
import {StandardsRegistry} from "../src/StandardsRegistry.sol";

// Benchmarks read by script/gas-report.mjs from .gas-snapshot. State and inputs are prepared
// in setUp (a separate transaction, so every slot the measured call touches starts cold), and
// each test meters only the one call it measures: the snapshot figure is that call's
// execution gas. A transaction adds 21,000 plus calldata, which the report estimates.

abstract contract GasConsentBase is BaseTest {
    ConsentRegistry.SignedConsent[] internal batch;
    address internal relayer = makeAddr("relayer");

    function _batchSize() internal pure virtual returns (uint256);

    function setUp() public override {
        super.setUp();
        for (uint256 i = 0; i < _batchSize(); ++i) {
            (, uint256 key) = makeAddrAndKey(string.concat("gas-patient-", vm.toString(i)));
            batch.push(_signConsent(key, DATASET, true, 1, uint64(block.timestamp + 1 days)));
        }
    }

    function _relay() internal {
        vm.pauseGasMetering();
        ConsentRegistry.SignedConsent[] memory b = batch;
        vm.prank(relayer);
        vm.resumeGasMetering();
        uint256 applied = consent.submitConsents(b);
        vm.pauseGasMetering();
        assertEq(applied, b.length);
    }
}

contract GasConsentBatch1Test is GasConsentBase {
    function _batchSize() internal pure override returns (uint256) {
        return 1;
    }

    function test_gas_consentRelayed_batch1() public {
        _relay();
    }
}

contract GasConsentBatch10Test is GasConsentBase {
    function _batchSize() internal pure override returns (uint256) {
        return 10;
    }

    function test_gas_consentRelayed_batch10() public {
        _relay();
    }
}

contract GasConsentBatch100Test is GasConsentBase {
    function _batchSize() internal pure override returns (uint256) {
        return 100;
    }

    function test_gas_consentRelayed_batch100() public {
        _relay();
    }
}

/// Steady state: the steward, treasury and pool already hold tokens (an earlier purchase);
/// the researcher buys this dataset for the first time, with its first permit.
contract GasPurchaseTest is BaseTest {
    uint256 internal deadline;
    uint8 internal v;
    bytes32 internal r;
    bytes32 internal s;

    function setUp() public override {
        super.setUp();
        _listDefault();
        _buy(researcher2, DATASET);
        deadline = block.timestamp + 1 hours;
        (v, r, s) = _permit(researcherKey, address(marketplace), PRICE, deadline);
    }

    function test_gas_purchaseWithPermit() public {
        vm.pauseGasMetering();
        (uint256 dl, uint8 v_, bytes32 r_, bytes32 s_) = (deadline, v, r, s);
        vm.prank(researcher);
        vm.resumeGasMetering();
        marketplace.purchaseAccessWithPermit(DATASET, PRICE, 0, dl, v_, r_, s_);
        vm.pauseGasMetering();
        assertTrue(marketplace.hasAccess(researcher, DATASET));
    }
}

/// Claims from the fixture's 1024-leaf trees (proof depth 10): the payout address's first
/// claim, so its token balance and its claimed-bitmap word both start empty (the most
/// expensive case).
abstract contract GasClaimBase is BaseTest {
    RewardDistributor.Claim[] internal claims;
    address internal account;

    function _epochs() internal pure virtual returns (uint256);

    function setUp() public override {
        super.setUp();
        string memory fixture =
            vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/merkle.json"));
        vm.startPrank(researcher);
        token.approve(address(distributor), 10_000 ether);
        distributor.fund(DATASET, 10_000 ether);
        vm.stopPrank();
        account = vm.parseJsonAddress(fixture, ".bench.account");
        for (uint256 i = 0; i < _epochs(); ++i) {
            string memory path = string.concat(".bench.epochs[", vm.toString(i), "]");
            RewardDistributor.Claim memory c;
            c.epoch = vm.parseJsonUint(fixture, string.concat(path, ".epoch"));
            c.amount = vm.parseJsonUint(fixture, string.concat(path, ".amount"));
            c.proof = vm.parseJsonBytes32Array(fixture, string.concat(path, ".proof"));
            claims.push(c);
            vm.prank(operator);
            distributor.postRoot(
                c.epoch,
                vm.parseJsonBytes32(fixture, string.concat(path, ".root")),
                vm.parseJsonUint(fixture, string.concat(path, ".total"))
            );
        }
    }
}

contract GasClaimSingleTest is GasClaimBase {
    function _epochs() internal pure override returns (uint256) {
        return 1;
    }

    function test_gas_claimSingle() public {
        vm.pauseGasMetering();
        RewardDistributor.Claim memory c = claims[0];
        address who = account;
        vm.prank(who);
        vm.resumeGasMetering();
        distributor.claim(who, c.epoch, c.amount, c.proof);
        vm.pauseGasMetering();
        assertEq(token.balanceOf(who), c.amount);
    }
}

contract GasClaimBatchTest is GasClaimBase {
    function _epochs() internal pure override returns (uint256) {
        return 10;
    }

    function test_gas_claimBatch10Epochs() public {
        vm.pauseGasMetering();
        RewardDistributor.Claim[] memory cs = claims;
        address who = account;
        vm.prank(who);
        vm.resumeGasMetering();
        uint256 total = distributor.claimBatch(who, cs);
        vm.pauseGasMetering();
        assertEq(token.balanceOf(who), total);
    }
}

contract GasVoteTest is BaseTest {
    uint256 internal proposalId;

    function setUp() public override {
        super.setUp();
        address[] memory targets = new address[](1);
        targets[0] = address(standards);
        bytes[] memory calldatas = new bytes[](1);
        calldatas[0] = abi.encodeCall(StandardsRegistry.setMinCellSize, (20));
        vm.prank(steward1);
        proposalId = governor.propose(targets, new uint256[](1), calldatas, "k=20");
        vm.warp(block.timestamp + VOTING_DELAY + 1);
    }

    function test_gas_governanceVote() public {
        vm.pauseGasMetering();
        uint256 id = proposalId;
        vm.prank(steward2);
        vm.resumeGasMetering();
        governor.castVote(id, 1);
        vm.pauseGasMetering();
        assertTrue(governor.hasVoted(id, steward2));
    }
}
