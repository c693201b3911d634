// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {CohortToken} from "../../src/CohortToken.sol";
import {StewardBadge} from "../../src/StewardBadge.sol";
import {StewardGovernor} from "../../src/StewardGovernor.sol";
import {StandardsRegistry} from "../../src/StandardsRegistry.sol";
import {DatasetRegistry} from "../../src/DatasetRegistry.sol";
import {Marketplace} from "../../src/Marketplace.sol";
import {ConsentRegistry} from "../../src/ConsentRegistry.sol";
import {RewardDistributor} from "../../src/RewardDistributor.sol";
import {QueryLedger} from "../../src/QueryLedger.sol";
import {ResearcherCredential} from "../../src/ResearcherCredential.sol";
import {Deploy} from "../../script/Deploy.s.sol";

/// @notice The whole system, deployed by the real deploy script logic, plus actors and helpers.
abstract contract BaseTest is Test {
    bytes32 internal constant SCHEMA_V1 = keccak256("omop-lite/1");
    bytes32 internal constant SCHEMA_V2 = keccak256("omop-lite/2");
    bytes32 internal constant DATASET = keccak256("dataset/cardio");
    bytes32 internal constant METADATA = keccak256("metadata/cardio");
    bytes32 internal constant CONTENT_V1 = keccak256("content/cardio/1");
    uint96 internal constant PRICE = 100 ether;
    uint64 internal constant DURATION = 30 days;
    uint256 internal constant INITIAL_BALANCE = 1_000_000 ether;

    uint48 internal constant VOTING_DELAY = 1;
    uint32 internal constant VOTING_PERIOD = 20;
    uint48 internal constant VOTE_EXTENSION = 5;
    uint256 internal constant TIMELOCK_DELAY = 1;
    uint32 internal constant CHALLENGE_WINDOW = 0;
    uint32 internal constant CLAIM_WINDOW = 365 days;

    Deploy internal deployScript;
    Deploy.Deployment internal d;
    CohortToken internal token;
    StewardBadge internal badge;
    TimelockController internal timelock;
    StewardGovernor internal governor;
    StandardsRegistry internal standards;
    DatasetRegistry internal datasets;
    Marketplace internal marketplace;
    ConsentRegistry internal consent;
    RewardDistributor internal distributor;
    QueryLedger internal ledger;
    ResearcherCredential internal credentials;

    address internal steward1 = makeAddr("steward1");
    address internal steward2 = makeAddr("steward2");
    address internal steward3 = makeAddr("steward3");
    address internal treasury = makeAddr("treasury");
    address internal operator = makeAddr("operator");
    address internal outsider = makeAddr("outsider");
    address internal guardian = makeAddr("guardian");
    address internal researcher;
    uint256 internal researcherKey;
    address internal researcher2;
    uint256 internal researcher2Key;
    address internal patient;
    uint256 internal patientKey;

    uint256 private _proposalNonce;

    function setUp() public virtual {
        (researcher, researcherKey) = makeAddrAndKey("researcher");
        (researcher2, researcher2Key) = makeAddrAndKey("researcher2");
        (patient, patientKey) = makeAddrAndKey("patient");

        deployScript = new Deploy();
        d = deployScript.deploy(_config(address(deployScript)));
        token = d.token;
        badge = d.badge;
        timelock = d.timelock;
        governor = d.governor;
        standards = d.standards;
        datasets = d.datasets;
        marketplace = d.marketplace;
        consent = d.consent;
        distributor = d.distributor;
        ledger = d.ledger;
        credentials = d.credentials;
        // Badges minted in this block only count as votes from the next block on.
        vm.roll(block.number + 1);
        vm.warp(block.timestamp + 1);
    }

    function _config(address deployer) internal view returns (Deploy.Config memory cfg) {
        cfg.deployer = deployer;
        cfg.votingDelay = VOTING_DELAY;
        cfg.votingPeriod = VOTING_PERIOD;
        cfg.voteExtension = VOTE_EXTENSION;
        cfg.timelockDelay = TIMELOCK_DELAY;
        cfg.quorumPercent = 50;
        cfg.challengeWindow = CHALLENGE_WINDOW;
        cfg.claimWindow = CLAIM_WINDOW;
        cfg.guardian = guardian;
        cfg.proposalThreshold = 1;
        cfg.stewards = new address[](3);
        cfg.stewards[0] = steward1;
        cfg.stewards[1] = steward2;
        cfg.stewards[2] = steward3;
        cfg.tokenRecipients = new address[](2);
        cfg.tokenRecipients[0] = researcher;
        cfg.tokenRecipients[1] = researcher2;
        cfg.tokenAmounts = new uint256[](2);
        cfg.tokenAmounts[0] = INITIAL_BALANCE;
        cfg.tokenAmounts[1] = INITIAL_BALANCE;
        cfg.tokenName = "OpenCohort";
        cfg.tokenSymbol = "COHORT";
        cfg.treasury = treasury;
        cfg.operator = operator;
        cfg.schemaVersions = new bytes32[](1);
        cfg.schemaVersions[0] = SCHEMA_V1;
        cfg.researchers = new address[](2);
        cfg.researchers[0] = researcher;
        cfg.researchers[1] = researcher2;
        cfg.researcherMetadata = keccak256("accreditation/ethics-board/2026");
    }

    function _list(bytes32 id, address steward, uint96 price) internal {
        vm.prank(steward);
        datasets.listDataset(id, METADATA, SCHEMA_V1, CONTENT_V1, price, DURATION);
    }

    function _listDefault() internal {
        _list(DATASET, steward1, PRICE);
    }

    function _permit(uint256 key, address spender, uint256 value, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        address owner = vm.addr(key);
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
                ),
                owner,
                spender,
                value,
                token.nonces(owner),
                deadline
            )
        );
        bytes32 digest =
            keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        return vm.sign(key, digest);
    }

    function _signConsent(
        uint256 key,
        bytes32 datasetId,
        bool granted,
        uint64 nonce,
        uint64 deadline
    ) internal view returns (ConsentRegistry.SignedConsent memory m) {
        address who = vm.addr(key);
        bytes32 digest = consent.consentDigest(who, datasetId, granted, nonce, deadline);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        m = ConsentRegistry.SignedConsent({
            patient: who,
            datasetId: datasetId,
            granted: granted,
            nonce: nonce,
            deadline: deadline,
            signature: abi.encodePacked(r, s, v)
        });
    }

    function _buy(address who, bytes32 id) internal returns (uint64) {
        vm.startPrank(who);
        token.approve(address(marketplace), type(uint256).max);
        uint64 expiresAt = marketplace.purchaseAccess(id, type(uint256).max, 0);
        vm.stopPrank();
        return expiresAt;
    }

    /// @dev Runs one proposal through the real governor: propose, vote (all stewards for),
    ///      queue, wait for the timelock, execute.
    function _govern(address target, bytes memory data) internal returns (uint256 proposalId) {
        address[] memory targets = new address[](1);
        targets[0] = target;
        uint256[] memory values = new uint256[](1);
        bytes[] memory calldatas = new bytes[](1);
        calldatas[0] = data;
        string memory description = string.concat("proposal #", vm.toString(++_proposalNonce));
        bytes32 descriptionHash = keccak256(bytes(description));

        vm.prank(steward1);
        proposalId = governor.propose(targets, values, calldatas, description);
        _passVote(proposalId);
        governor.queue(targets, values, calldatas, descriptionHash);
        vm.warp(block.timestamp + timelock.getMinDelay() + 1);
        governor.execute(targets, values, calldatas, descriptionHash);
    }

    /// @dev The three initial stewards vote for, then voting ends (the clock is timestamps).
    function _passVote(uint256 proposalId) internal {
        vm.warp(governor.proposalSnapshot(proposalId) + 1);
        vm.roll(block.number + 1);
        vm.prank(steward1);
        governor.castVote(proposalId, 1);
        vm.prank(steward2);
        governor.castVote(proposalId, 1);
        vm.prank(steward3);
        governor.castVote(proposalId, 1);
        vm.warp(governor.proposalDeadline(proposalId) + 1);
        vm.roll(block.number + 1);
    }
}
