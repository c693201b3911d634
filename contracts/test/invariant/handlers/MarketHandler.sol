// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {CohortToken} from "../../../src/CohortToken.sol";
import {StandardsRegistry} from "../../../src/StandardsRegistry.sol";
import {DatasetRegistry} from "../../../src/DatasetRegistry.sol";
import {Marketplace} from "../../../src/Marketplace.sol";
import {RewardDistributor} from "../../../src/RewardDistributor.sol";
import {Merkle} from "../../utils/Merkle.sol";
import {PendingClaim} from "./PendingClaim.sol";

/// @notice Drives purchases (approve and permit), price and fee-split changes, direct pool
///         top-ups, reward roots and claims, and keeps ghost totals of every token movement.
contract MarketHandler is Test {
    CohortToken internal token;
    StandardsRegistry internal standards;
    DatasetRegistry internal datasets;
    Marketplace internal marketplace;
    RewardDistributor internal distributor;
    address internal timelock;
    address internal operator;

    uint256[] internal researcherKeys;
    address[] public researchers;
    address[] public stewards;
    bytes32[] public datasetIds;
    address[] public patients;

    uint256[] internal _epochs;
    uint256 public nextEpoch;
    PendingClaim[] internal _pending;

    uint256 public ghostPaid;
    uint256 public ghostStewardShares;
    uint256 public ghostTreasuryShares;
    uint256 public ghostPatientShares;
    uint256 public ghostDirectFunding;
    uint256 public ghostClaimed;
    uint256 public ghostFunded;
    uint256 public purchases;
    uint256 public claims;
    uint256 public reclaims;
    uint256 public ghostReclaimed;
    /// Every claim made, to check afterwards that each one is recorded as claimed.
    PendingClaim[] internal _done;

    constructor(
        CohortToken token_,
        StandardsRegistry standards_,
        DatasetRegistry datasets_,
        Marketplace marketplace_,
        RewardDistributor distributor_,
        TimelockController timelock_,
        address operator_,
        uint256[] memory researcherKeys_,
        address[] memory stewards_,
        bytes32[] memory datasetIds_
    ) {
        token = token_;
        standards = standards_;
        datasets = datasets_;
        marketplace = marketplace_;
        distributor = distributor_;
        timelock = address(timelock_);
        operator = operator_;
        researcherKeys = researcherKeys_;
        for (uint256 i = 0; i < researcherKeys_.length; ++i) {
            researchers.push(vm.addr(researcherKeys_[i]));
        }
        stewards = stewards_;
        datasetIds = datasetIds_;
        for (uint256 i = 0; i < 4; ++i) {
            patients.push(makeAddr(string.concat("inv-patient-", vm.toString(i))));
        }
    }

    function researcherCount() external view returns (uint256) {
        return researchers.length;
    }

    function patientCount() external view returns (uint256) {
        return patients.length;
    }

    function datasetCount() external view returns (uint256) {
        return datasetIds.length;
    }

    function epochs() external view returns (uint256[] memory) {
        return _epochs;
    }

    function doneCount() external view returns (uint256) {
        return _done.length;
    }

    function done(uint256 i) external view returns (address, uint256) {
        PendingClaim memory c = _done[i];
        return (c.account, c.epoch);
    }

    function pendingCount() external view returns (uint256) {
        return _pending.length;
    }

    function pending(uint256 i) external view returns (address, uint256) {
        PendingClaim memory c = _pending[i];
        return (c.account, c.epoch);
    }

    function purchase(uint256 who, uint256 which, bool withPermit) external {
        uint256 r = bound(who, 0, researchers.length - 1);
        address researcher = researchers[r];
        bytes32 id = datasetIds[bound(which, 0, datasetIds.length - 1)];
        (uint256 price, uint256 p, uint256 s, uint256 t) = marketplace.quote(id);
        uint256 balanceBefore = token.balanceOf(researcher);
        if (balanceBefore < price) return;

        if (withPermit) {
            uint256 deadline = block.timestamp + 1 hours;
            bytes32 digest = keccak256(
                abi.encodePacked(
                    "\x19\x01",
                    token.DOMAIN_SEPARATOR(),
                    keccak256(
                        abi.encode(
                            keccak256(
                                "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
                            ),
                            researcher,
                            address(marketplace),
                            price,
                            token.nonces(researcher),
                            deadline
                        )
                    )
                )
            );
            (uint8 v, bytes32 rr, bytes32 ss) = vm.sign(researcherKeys[r], digest);
            vm.prank(researcher);
            marketplace.purchaseAccessWithPermit(id, price, 0, deadline, v, rr, ss);
        } else {
            vm.startPrank(researcher);
            token.approve(address(marketplace), price);
            marketplace.purchaseAccess(id, price, 0);
            vm.stopPrank();
        }
        // Measured, not quoted: the split assertion then checks what the contract moved.
        ghostPaid += balanceBefore - token.balanceOf(researcher);
        ghostPatientShares += p;
        ghostStewardShares += s;
        ghostTreasuryShares += t;
        ghostFunded += p;
        purchases++;
    }

    function setPrice(uint256 which, uint96 price) external {
        uint256 i = bound(which, 0, datasetIds.length - 1);
        price = uint96(bound(price, 0, 5_000 ether));
        vm.prank(stewards[i]);
        datasets.setPrice(datasetIds[i], price);
    }

    function setFeeSplit(uint16 patientsBps, uint16 treasuryBps) external {
        patientsBps = uint16(bound(patientsBps, 0, 10_000));
        treasuryBps = uint16(bound(treasuryBps, 0, 10_000 - patientsBps));
        vm.prank(timelock);
        standards.setFeeSplit(patientsBps, 10_000 - patientsBps - treasuryBps, treasuryBps);
    }

    function fundDirectly(uint256 who, uint256 which, uint256 amount) external {
        address researcher = researchers[bound(who, 0, researchers.length - 1)];
        bytes32 id = datasetIds[bound(which, 0, datasetIds.length - 1)];
        amount = bound(amount, 1, 1_000 ether);
        if (token.balanceOf(researcher) < amount) return;
        vm.startPrank(researcher);
        token.approve(address(distributor), amount);
        distributor.fund(id, amount);
        vm.stopPrank();
        ghostDirectFunding += amount;
        ghostFunded += amount;
    }

    /// Posts one epoch's tree (all datasets) of up to 4 payout addresses whose amounts use
    /// part of the unallocated pool.
    function postRoot(uint256 seed, uint8 size) external {
        (uint256 funded, uint256 allocated) = distributor.pool();
        uint256 available = funded - allocated;
        uint256 n = bound(size, 1, patients.length);
        if (available < n) return;

        bytes32[] memory leaves = new bytes32[](n);
        uint256[] memory amounts = new uint256[](n);
        uint256 total;
        for (uint256 i = 0; i < n; ++i) {
            amounts[i] = bound(uint256(keccak256(abi.encode(seed, i))), 1, available / n);
            total += amounts[i];
            leaves[i] = Merkle.leaf(patients[i], amounts[i]);
        }
        uint256 epoch = ++nextEpoch;
        vm.prank(operator);
        distributor.postRoot(epoch, Merkle.rootOf(leaves), total);
        _epochs.push(epoch);
        for (uint256 i = 0; i < n; ++i) {
            _pending.push(PendingClaim(patients[i], epoch, amounts[i], Merkle.proofOf(leaves, i)));
        }
    }

    /// Takes a pending claim; an expired one is dropped and its epoch reclaimed instead.
    function _takePending(uint256 which) private returns (bool found, PendingClaim memory c) {
        while (_pending.length != 0) {
            uint256 i = bound(which, 0, _pending.length - 1);
            c = _pending[i];
            _pending[i] = _pending[_pending.length - 1];
            _pending.pop();
            (,,,, uint256 expiresAt) = distributor.epochOf(c.epoch);
            if (block.timestamp < expiresAt) return (true, c);
            _reclaim(c.epoch);
        }
        return (false, c);
    }

    function _reclaim(uint256 epoch) private {
        (, uint256 total, uint256 claimed,,) = distributor.epochOf(epoch);
        if (total == claimed) return;
        uint256 amount = distributor.reclaimExpired(epoch);
        require(amount == total - claimed, "reclaimed amount");
        ghostReclaimed += amount;
        reclaims++;
    }

    function _claimOnce(PendingClaim memory c) private {
        distributor.claim(c.account, c.epoch, c.amount, c.proof);
        ghostClaimed += c.amount;
        claims++;
        _done.push(c);
    }

    function claim(uint256 which) external {
        (bool found, PendingClaim memory c) = _takePending(which);
        if (found) _claimOnce(c);
    }

    /// A double claim must always fail.
    function claimTwice(uint256 which) external {
        (bool found, PendingClaim memory c) = _takePending(which);
        if (!found) return;
        _claimOnce(c);
        try distributor.claim(c.account, c.epoch, c.amount, c.proof) {
            ghostClaimed += c.amount; // breaks the solvency invariant on purpose
        } catch {}
    }

    function warp(uint32 secondsAhead) external {
        vm.warp(block.timestamp + bound(secondsAhead, 1, 60 days));
    }
}
