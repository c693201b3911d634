// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {
    GovernorCountingSimple
} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {
    GovernorVotesQuorumFraction
} from "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {
    GovernorTimelockControl
} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {
    GovernorPreventLateQuorum
} from "@openzeppelin/contracts/governance/extensions/GovernorPreventLateQuorum.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";

/// @title StewardGovernor
/// @notice Steward governance: StewardBadge holders propose and vote (one badge, one vote);
///         passed proposals are queued and executed by the TimelockController, which owns every
///         governed contract (StandardsRegistry, StewardBadge, DatasetRegistry, roles of
///         RewardDistributor and QueryLedger).
/// @dev Voting delay, period and the late-quorum extension are in seconds (the badge uses the
///      timestamp clock, which means the same on every L2). Quorum is always more than half of
///      all badges: the quorum fraction can raise it, never lower it, so with three stewards one
///      vote never passes anything. When a proposal reaches quorum late, voting is extended by
///      `lateQuorumVoteExtension()`, so a last-minute vote cannot pass it unseen. The settings,
///      quorum numerator and timelock can only be changed by governance itself.
contract StewardGovernor is
    Governor,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorPreventLateQuorum,
    GovernorTimelockControl
{
    /// @param badge The StewardBadge (voting power).
    /// @param timelock_ The TimelockController that executes proposals.
    /// @param badge The StewardBadge (voting power).
    /// @param timelock_ The TimelockController that executes proposals.
    /// @param votingDelay_ Seconds between proposal and voting start.
    /// @param votingPeriod_ Seconds the vote stays open.
    /// @param proposalThreshold_ Votes needed to propose (1 = any steward).
    /// @param quorumPercent Quorum as a percentage of all badges at the proposal snapshot (a
    ///        majority of badges is required whatever this says).
    /// @param voteExtension Seconds voting stays open after quorum is reached late.
    constructor(
        IVotes badge,
        TimelockController timelock_,
        uint48 votingDelay_,
        uint32 votingPeriod_,
        uint256 proposalThreshold_,
        uint256 quorumPercent,
        uint48 voteExtension
    )
        Governor("StewardGovernor")
        GovernorSettings(votingDelay_, votingPeriod_, proposalThreshold_)
        GovernorVotes(badge)
        GovernorVotesQuorumFraction(quorumPercent)
        GovernorPreventLateQuorum(voteExtension)
        GovernorTimelockControl(timelock_)
    {}

    /// @notice Seconds to wait after a proposal is created before voting starts.
    function votingDelay() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingDelay();
    }

    /// @notice Seconds during which votes are accepted.
    function votingPeriod() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingPeriod();
    }

    /// @notice Votes an account needs to create a proposal.
    function proposalThreshold()
        public
        view
        override(Governor, GovernorSettings)
        returns (uint256)
    {
        return super.proposalThreshold();
    }

    /// @notice Votes needed for a proposal whose snapshot is `timepoint` to reach quorum: the
    ///         quorum fraction of all badges, and never less than a majority of them.
    function quorum(uint256 timepoint)
        public
        view
        override(Governor, GovernorVotesQuorumFraction)
        returns (uint256)
    {
        uint256 majority = token().getPastTotalSupply(timepoint) / 2 + 1;
        uint256 fraction = super.quorum(timepoint);
        return fraction > majority ? fraction : majority;
    }

    /// @notice Deadline of a proposal, extended when quorum was reached late.
    function proposalDeadline(uint256 proposalId)
        public
        view
        override(Governor, GovernorPreventLateQuorum)
        returns (uint256)
    {
        return super.proposalDeadline(proposalId);
    }

    function _tallyUpdated(uint256 proposalId)
        internal
        override(Governor, GovernorPreventLateQuorum)
    {
        super._tallyUpdated(proposalId);
    }

    /// @notice Current state of a proposal (includes Queued from the timelock).
    function state(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (ProposalState)
    {
        return super.state(proposalId);
    }

    /// @notice Every proposal goes through the timelock queue.
    function proposalNeedsQueuing(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (bool)
    {
        return super.proposalNeedsQueuing(proposalId);
    }

    function _queueOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint48) {
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) {
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _cancel(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint256) {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executor()
        internal
        view
        override(Governor, GovernorTimelockControl)
        returns (address)
    {
        return super._executor();
    }
}
