// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {CohortToken} from "../../../src/CohortToken.sol";
import {RewardDistributor} from "../../../src/RewardDistributor.sol";
import {Merkle} from "../../utils/Merkle.sol";
import {PendingClaim} from "./PendingClaim.sol";

/// @notice Drives the RewardDistributor alone: funding under several dataset ids, stray
///         transfers of the reward token, roots (with gaps, under-full trees, reposts after a
///         veto), single and batch claims, reclaims, vetoes, the guardian pause, cursor moves
///         and recoveries, each only when it must succeed (the suite fails on any revert).
///         Ghost totals record every token movement; counters record what was done.
contract DistributorHandler is Test {
    CohortToken internal token;
    RewardDistributor internal distributor;
    address internal timelock;
    address internal operator;
    address internal guardian;
    address[] internal funders;
    address[] public patients;
    bytes32[] internal datasetIds;

    PendingClaim[] internal _pending;
    PendingClaim[] internal _done;

    uint256 public ghostFunded;
    uint256 public ghostClaimed;
    uint256 public ghostStrays;
    uint256 public ghostRecovered;
    uint256 public ghostReclaimed;

    uint256 public funds;
    uint256 public strays;
    uint256 public posts;
    uint256 public claims;
    uint256 public batchClaims;
    uint256 public reclaims;
    uint256 public vetoes;
    uint256 public vetoesOfLatest;
    uint256 public pauseToggles;
    uint256 public cursorMoves;
    uint256 public recoverCalls;
    uint256 public recoveries;
    uint256 public refusedRecoveries;
    /// Claims dropped because their epoch expired.
    uint256 public expiredDrops;

    constructor(
        CohortToken token_,
        RewardDistributor distributor_,
        address timelock_,
        address operator_,
        address guardian_,
        address[] memory funders_
    ) {
        token = token_;
        distributor = distributor_;
        timelock = timelock_;
        operator = operator_;
        guardian = guardian_;
        funders = funders_;
        for (uint256 i = 0; i < 4; ++i) {
            patients.push(makeAddr(string.concat("payout-", vm.toString(i))));
            datasetIds.push(keccak256(abi.encode("dist-inv-dataset", i)));
        }
    }

    function patientCount() external view returns (uint256) {
        return patients.length;
    }

    function pendingCount() external view returns (uint256) {
        return _pending.length;
    }

    function pending(uint256 i) external view returns (address, uint256) {
        return (_pending[i].account, _pending[i].epoch);
    }

    function doneCount() external view returns (uint256) {
        return _done.length;
    }

    function done(uint256 i) external view returns (address, uint256, uint256) {
        return (_done[i].account, _done[i].epoch, _done[i].amount);
    }

    function fund(uint256 who, uint256 which, uint256 amount) external {
        address from = funders[bound(who, 0, funders.length - 1)];
        amount = bound(amount, 1, 100 ether);
        if (token.balanceOf(from) < amount) return;
        vm.startPrank(from);
        token.approve(address(distributor), amount);
        distributor.fund(datasetIds[bound(which, 0, datasetIds.length - 1)], amount);
        vm.stopPrank();
        ghostFunded += amount;
        funds++;
    }

    /// A plain transfer of the reward token: not funding, recoverable by governance.
    function sendStray(uint256 who, uint256 amount) external {
        address from = funders[bound(who, 0, funders.length - 1)];
        amount = bound(amount, 1, 10 ether);
        if (token.balanceOf(from) < amount) return;
        vm.prank(from);
        require(token.transfer(address(distributor), amount), "transfer");
        ghostStrays += amount;
        strays++;
    }

    /// Posts one epoch's tree of up to 4 payout addresses. The tree may pay less than its
    /// total (something to reclaim), never more. The epoch follows the last one with a gap of
    /// 0-2, so after a veto of the latest the same number is sometimes posted again.
    function postRoot(uint256 seed, uint8 size, uint8 gap) external {
        (uint256 funded, uint256 allocated) = distributor.pool();
        uint256 available = funded - allocated;
        uint256 n = bound(size, 1, patients.length);
        if (available < 2 * n) return;
        uint256 total = bound(seed, 2 * n, available);
        bytes32[] memory leaves = new bytes32[](n);
        uint256[] memory amounts = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            amounts[i] = bound(uint256(keccak256(abi.encode(seed, i))), 1, total / n);
            leaves[i] = Merkle.leaf(patients[i], amounts[i]);
        }
        uint256 epoch = distributor.lastEpoch() + 1 + bound(gap, 0, 2);
        vm.prank(operator);
        distributor.postRoot(epoch, Merkle.rootOf(leaves), total);
        for (uint256 i = 0; i < n; ++i) {
            _pending.push(PendingClaim(patients[i], epoch, amounts[i], Merkle.proofOf(leaves, i)));
        }
        posts++;
    }

    /// 0 = claimable now; 1 = not yet (challenge window or pause); 2 = never again (expired).
    function _state(uint256 epoch) private view returns (uint256) {
        (,,, uint256 claimableAt, uint256 expiresAt) = distributor.epochOf(epoch);
        (,, uint32 pausedSince) = distributor.settings();
        if (block.timestamp >= expiresAt) return 2;
        if (block.timestamp < claimableAt) return 1;
        if (pausedSince != 0 && claimableAt > pausedSince) return 1;
        return 0;
    }

    function _removePending(uint256 i) private {
        _pending[i] = _pending[_pending.length - 1];
        _pending.pop();
    }

    /// Takes a claimable pending claim at or after `which`; expired ones met on the way are
    /// dropped (their epoch can only be reclaimed now).
    function _takeClaimable(uint256 which, address account)
        private
        returns (bool found, PendingClaim memory c)
    {
        if (_pending.length == 0) return (false, c);
        uint256 i = which % _pending.length;
        uint256 skipped;
        // Each pass either skips an entry or removes one, so this ends.
        while (skipped < _pending.length) {
            if (i >= _pending.length) i = 0;
            c = _pending[i];
            uint256 state = _state(c.epoch);
            if ((account != address(0) && c.account != account) || state == 1) {
                ++i;
                ++skipped;
                continue;
            }
            _removePending(i); // slot i now holds another entry: look at it next
            if (state == 0) return (true, c);
            expiredDrops++;
        }
        return (false, c);
    }

    function _recordClaim(PendingClaim memory c) private {
        ghostClaimed += c.amount;
        _done.push(c);
        claims++;
    }

    function claim(uint256 which) external {
        (bool found, PendingClaim memory c) = _takeClaimable(which, address(0));
        if (!found) return;
        distributor.claim(c.account, c.epoch, c.amount, c.proof);
        _recordClaim(c);
    }

    /// Up to three claimable epochs of one payout address in one transfer.
    function claimBatch(uint256 who, uint256 which) external {
        address account = patients[bound(who, 0, patients.length - 1)];
        PendingClaim[] memory taken = new PendingClaim[](3);
        uint256 n;
        while (n < 3 && _pending.length != 0) {
            (bool found, PendingClaim memory c) = _takeClaimable(which, account);
            if (!found) break;
            taken[n++] = c;
        }
        if (n == 0) return;
        RewardDistributor.Claim[] memory batch = new RewardDistributor.Claim[](n);
        uint256 expected;
        for (uint256 i = 0; i < n; ++i) {
            batch[i] = RewardDistributor.Claim(taken[i].epoch, taken[i].amount, taken[i].proof);
            expected += taken[i].amount;
        }
        uint256 before = token.balanceOf(account);
        require(distributor.claimBatch(account, batch) == expected, "batch total");
        require(token.balanceOf(account) - before == expected, "batch paid");
        for (uint256 i = 0; i < n; ++i) {
            _recordClaim(taken[i]);
        }
        batchClaims++;
    }

    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + bound(secondsAhead, 1 hours, 3 days));
    }

    function reclaim(uint256 which) external {
        uint256 count = distributor.postedEpochCount();
        if (count == 0) return;
        uint256 epoch = distributor.postedEpochs(bound(which, 0, count - 1));
        (bytes32 root, uint256 total, uint256 claimed,, uint256 expiresAt) =
            distributor.epochOf(epoch);
        if (root == bytes32(0) || block.timestamp < expiresAt || total == claimed) return;
        require(distributor.reclaimExpired(epoch) == total - claimed, "reclaimed amount");
        ghostReclaimed += total - claimed;
        reclaims++;
    }

    /// Vetoes an epoch that is not claimable (challenge window, or held by the pause); its
    /// pending claims go (the same epoch number may later carry another tree).
    function veto(uint256 which) external {
        uint256 count = distributor.postedEpochCount();
        if (count == 0) return;
        uint256 epoch = distributor.postedEpochs(bound(which, 0, count - 1));
        (bytes32 root,,,,) = distributor.epochOf(epoch);
        if (root == bytes32(0) || _isClaimableNow(epoch)) return;
        bool latest = distributor.lastEpoch() == epoch;
        vm.prank(guardian);
        distributor.veto(epoch);
        for (uint256 i = _pending.length; i > 0; --i) {
            if (_pending[i - 1].epoch == epoch) _removePending(i - 1);
        }
        vetoes++;
        if (latest) vetoesOfLatest++;
    }

    function _isClaimableNow(uint256 epoch) private view returns (bool) {
        (,,, uint256 claimableAt,) = distributor.epochOf(epoch);
        (,, uint32 pausedSince) = distributor.settings();
        if (block.timestamp < claimableAt) return false;
        return pausedSince == 0 || claimableAt <= pausedSince;
    }

    function togglePause() external {
        (,, uint32 pausedSince) = distributor.settings();
        vm.prank(guardian);
        distributor.setClaimsPaused(pausedSince == 0);
        pauseToggles++;
    }

    function advanceCursor(uint256 maxSteps) external {
        distributor.advanceSettledCursor(bound(maxSteps, 0, 8));
        cursorMoves++;
    }

    /// Recovers part of the stray surplus, then checks that one wei more than what is left
    /// is refused.
    function recover(uint256 amount) external {
        recoverCalls++;
        uint256 available = distributor.recoverable();
        if (available != 0) {
            amount = bound(amount, 1, available);
            vm.prank(timelock);
            distributor.recoverTokens(token, timelock, amount);
            ghostRecovered += amount;
            recoveries++;
        }
        uint256 left = distributor.recoverable();
        vm.prank(timelock);
        try distributor.recoverTokens(token, timelock, left + 1) {
            ghostRecovered += left + 1; // breaks the recoverable invariant on purpose
        } catch (bytes memory reason) {
            require(
                keccak256(reason)
                    == keccak256(
                        abi.encodeWithSelector(
                            RewardDistributor.ExceedsRecoverable.selector, left, left + 1
                        )
                    ),
                "refused for another reason"
            );
            refusedRecoveries++;
        }
    }
}
