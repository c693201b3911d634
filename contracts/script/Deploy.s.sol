// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Script} from "forge-std/Script.sol";
import {VmSafe} from "forge-std/Vm.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {CohortToken} from "../src/CohortToken.sol";
import {StewardBadge} from "../src/StewardBadge.sol";
import {StewardGovernor} from "../src/StewardGovernor.sol";
import {StandardsRegistry} from "../src/StandardsRegistry.sol";
import {DatasetRegistry} from "../src/DatasetRegistry.sol";
import {Marketplace} from "../src/Marketplace.sol";
import {ConsentRegistry} from "../src/ConsentRegistry.sol";
import {RewardDistributor} from "../src/RewardDistributor.sol";
import {QueryLedger} from "../src/QueryLedger.sol";
import {ResearcherCredential} from "../src/ResearcherCredential.sol";

/// @title Deploy
/// @notice Deploys and wires the whole OpenCohort system, then writes
///         `deployments/<chainId>.json`. Afterwards the deployer holds no role anywhere:
///         the TimelockController (driven by StewardGovernor) owns StandardsRegistry,
///         StewardBadge and DatasetRegistry and administers every role.
/// @dev Parameters come from the environment. On the local chain (31337) every parameter has
///      a short dev default and anvil's accounts fill the roles; on any other chain the
///      defaults are the safe ones below, INITIAL_STEWARDS, OPERATOR, GUARDIAN,
///      TOKEN_RECIPIENTS and TOKEN_AMOUNTS must be given, and `validate` refuses anvil's
///      public accounts, an empty steward list, a zero quorum and delays under the minimums.
///      VOTING_DELAY, VOTING_PERIOD, VOTE_EXTENSION (seconds: the badge clock is timestamps;
///      local 1 / 20 / 5, else 1 day / 5 days / 2 days), TIMELOCK_DELAY (seconds; local 1,
///      else 2 days), QUORUM_PERCENT (51; a majority of badges is required anyway),
///      PROPOSAL_THRESHOLD (badges, 1), CHALLENGE_WINDOW and CLAIM_WINDOW of reward roots
///      (seconds; local 0 / 365 days, else 3 days / 365 days), INITIAL_STEWARDS
///      (comma-separated; local anvil #1-#3), TOKEN_RECIPIENTS + TOKEN_AMOUNTS (local anvil
///      #1-#9 with 1,000,000 tokens each), TOKEN_NAME ("OpenCohort"), TOKEN_SYMBOL ("COHORT"),
///      TREASURY (default: the TimelockController), OPERATOR (local anvil #9), GUARDIAN (local
///      anvil #1), SCHEMA_VERSIONS (comma-separated bytes32; keccak256("omop-lite/1") and "omop-lite/2"),
///      INITIAL_RESEARCHERS (comma-separated addresses accredited at deploy; local anvil
///      #4-#5, else none) with RESEARCHER_METADATA (bytes32 reference of the accrediting
///      decision),
///      MANIFEST_PATH (default deployments/<chainId>.json).
contract Deploy is Script {
    /// @notice Mnemonic of anvil's dev accounts: local defaults only, never a real network.
    string private constant ANVIL_MNEMONIC =
        "test test test test test test test test test test test junk";
    /// @notice The local dev chain (anvil), the only one with short delays and dev accounts.
    uint256 public constant LOCAL_CHAIN_ID = 31337;
    /// @notice Minimums off the local chain.
    uint256 public constant MIN_TIMELOCK_DELAY = 2 days;
    uint256 public constant MIN_VOTING_DELAY = 1 hours;
    uint256 public constant MIN_VOTING_PERIOD = 1 days;
    uint256 public constant MIN_VOTE_EXTENSION = 1 days;
    uint256 public constant MIN_CHALLENGE_WINDOW = 1 days;

    /// @notice Deploy parameters.
    struct Config {
        address deployer;
        uint48 votingDelay;
        uint32 votingPeriod;
        uint48 voteExtension;
        uint256 timelockDelay;
        uint256 quorumPercent;
        uint256 proposalThreshold;
        uint32 challengeWindow;
        uint32 claimWindow;
        address[] stewards;
        address[] tokenRecipients;
        uint256[] tokenAmounts;
        string tokenName;
        string tokenSymbol;
        address treasury;
        address operator;
        address guardian;
        bytes32[] schemaVersions;
        address[] researchers;
        bytes32 researcherMetadata;
    }

    /// @notice The deployed system.
    struct Deployment {
        CohortToken token;
        StewardBadge badge;
        TimelockController timelock;
        StewardGovernor governor;
        StandardsRegistry standards;
        DatasetRegistry datasets;
        Marketplace marketplace;
        ConsentRegistry consent;
        RewardDistributor distributor;
        QueryLedger ledger;
        ResearcherCredential credentials;
    }

    /// @notice A parameter is unsafe or missing; `reason` names it.
    error InvalidConfig(string reason);

    /// @notice Entry point of `forge script`: reads the env, deploys, writes the manifest.
    function run() external returns (Deployment memory d) {
        Config memory cfg = configFromEnv();
        // No deployment transaction can land in a block that already exists.
        uint256 startBlock = block.number + 1;
        vm.startBroadcast();
        (VmSafe.CallerMode mode, address broadcaster,) = vm.readCallers();
        require(mode == VmSafe.CallerMode.RecurrentBroadcast, "not broadcasting");
        cfg.deployer = broadcaster;
        d = deploy(cfg);
        vm.stopBroadcast();
        vm.createDir(string.concat(vm.projectRoot(), "/deployments"), true);
        writeManifest(d, startBlock, manifestPath());
    }

    /// @notice `deployments/<chainId>.json` inside the contracts folder, or MANIFEST_PATH
    ///         (which must also lie under deployments/, the only folder the script may write).
    function manifestPath() public view returns (string memory) {
        string memory path = vm.envOr("MANIFEST_PATH", string(""));
        if (bytes(path).length != 0) return path;
        return string.concat(vm.projectRoot(), "/deployments/", vm.toString(block.chainid), ".json");
    }

    /// @notice Reads the deploy parameters from the environment (see the contract docs).
    function configFromEnv() public view returns (Config memory cfg) {
        bool local = block.chainid == LOCAL_CHAIN_ID;
        cfg.votingDelay = uint48(vm.envOr("VOTING_DELAY", local ? uint256(1) : 1 days));
        cfg.votingPeriod = uint32(vm.envOr("VOTING_PERIOD", local ? uint256(20) : 5 days));
        cfg.voteExtension = uint48(vm.envOr("VOTE_EXTENSION", local ? uint256(5) : 2 days));
        cfg.timelockDelay = vm.envOr("TIMELOCK_DELAY", local ? uint256(1) : 2 days);
        cfg.quorumPercent = vm.envOr("QUORUM_PERCENT", uint256(51));
        cfg.proposalThreshold = vm.envOr("PROPOSAL_THRESHOLD", uint256(1));
        cfg.challengeWindow = uint32(vm.envOr("CHALLENGE_WINDOW", local ? uint256(0) : 3 days));
        cfg.claimWindow = uint32(vm.envOr("CLAIM_WINDOW", uint256(365 days)));
        address[] memory none = new address[](0);
        cfg.stewards = vm.envOr("INITIAL_STEWARDS", ",", local ? _anvil(1, 3) : none);
        address[] memory recipients = local ? _anvil(1, 9) : none;
        uint256[] memory amounts = new uint256[](recipients.length);
        for (uint256 i = 0; i < amounts.length; ++i) {
            amounts[i] = 1_000_000 ether;
        }
        cfg.tokenRecipients = vm.envOr("TOKEN_RECIPIENTS", ",", recipients);
        cfg.tokenAmounts = vm.envOr("TOKEN_AMOUNTS", ",", amounts);
        cfg.tokenName = vm.envOr("TOKEN_NAME", string("OpenCohort"));
        cfg.tokenSymbol = vm.envOr("TOKEN_SYMBOL", string("COHORT"));
        cfg.treasury = vm.envOr("TREASURY", address(0));
        cfg.operator = vm.envOr("OPERATOR", local ? _anvil(9, 9)[0] : address(0));
        cfg.guardian = vm.envOr("GUARDIAN", local ? _anvil(1, 1)[0] : address(0));
        bytes32[] memory schemas = new bytes32[](2);
        schemas[0] = keccak256("omop-lite/1");
        schemas[1] = keccak256("omop-lite/2");
        cfg.schemaVersions = vm.envOr("SCHEMA_VERSIONS", ",", schemas);
        cfg.researchers = vm.envOr("INITIAL_RESEARCHERS", ",", local ? _anvil(4, 5) : none);
        cfg.researcherMetadata = vm.envOr(
            "RESEARCHER_METADATA", local ? keccak256("opencohort/dev-accreditation") : bytes32(0)
        );
    }

    /// @notice Refuses a configuration that would be unsafe on this chain (see the contract
    ///         docs); reverts with InvalidConfig naming the parameter.
    function validate(Config memory cfg) public view {
        if (cfg.operator == address(0)) revert InvalidConfig("OPERATOR is zero");
        if (cfg.guardian == address(0)) revert InvalidConfig("GUARDIAN is zero");
        if (cfg.votingPeriod == 0) revert InvalidConfig("VOTING_PERIOD is zero");
        if (cfg.quorumPercent == 0 || cfg.quorumPercent > 100) {
            revert InvalidConfig("QUORUM_PERCENT must be 1-100");
        }
        if (cfg.stewards.length == 0) revert InvalidConfig("INITIAL_STEWARDS is empty");
        if (cfg.proposalThreshold == 0 || cfg.proposalThreshold > cfg.stewards.length) {
            revert InvalidConfig("PROPOSAL_THRESHOLD must be 1 to the number of stewards");
        }
        for (uint256 i = 0; i < cfg.stewards.length; ++i) {
            if (cfg.stewards[i] == address(0)) revert InvalidConfig("INITIAL_STEWARDS has zero");
        }
        if (cfg.researchers.length != 0 && cfg.researcherMetadata == bytes32(0)) {
            revert InvalidConfig("RESEARCHER_METADATA is zero");
        }
        if (block.chainid == LOCAL_CHAIN_ID) return;

        if (cfg.timelockDelay < MIN_TIMELOCK_DELAY) {
            revert InvalidConfig("TIMELOCK_DELAY too short");
        }
        if (cfg.votingDelay < MIN_VOTING_DELAY) revert InvalidConfig("VOTING_DELAY too short");
        if (cfg.votingPeriod < MIN_VOTING_PERIOD) revert InvalidConfig("VOTING_PERIOD too short");
        if (cfg.voteExtension < MIN_VOTE_EXTENSION) {
            revert InvalidConfig("VOTE_EXTENSION too short");
        }
        if (cfg.challengeWindow < MIN_CHALLENGE_WINDOW) {
            revert InvalidConfig("CHALLENGE_WINDOW too short");
        }
        if (cfg.tokenRecipients.length == 0) revert InvalidConfig("TOKEN_RECIPIENTS is empty");
        address[] memory anvil = _anvil(0, 9);
        _refuseAnvil(anvil, cfg.deployer, "deployer is an anvil account");
        _refuseAnvil(anvil, cfg.operator, "OPERATOR is an anvil account");
        _refuseAnvil(anvil, cfg.guardian, "GUARDIAN is an anvil account");
        _refuseAnvil(anvil, cfg.treasury, "TREASURY is an anvil account");
        for (uint256 i = 0; i < cfg.stewards.length; ++i) {
            _refuseAnvil(anvil, cfg.stewards[i], "INITIAL_STEWARDS has an anvil account");
        }
        for (uint256 i = 0; i < cfg.tokenRecipients.length; ++i) {
            _refuseAnvil(anvil, cfg.tokenRecipients[i], "TOKEN_RECIPIENTS has an anvil account");
        }
        for (uint256 i = 0; i < cfg.researchers.length; ++i) {
            _refuseAnvil(anvil, cfg.researchers[i], "INITIAL_RESEARCHERS has an anvil account");
        }
    }

    /// @notice Deploys and wires everything from `cfg.deployer`, which ends with no role.
    /// @dev Called inside the broadcast by `run`, and directly by tests (deployer = this).
    function deploy(Config memory cfg) public returns (Deployment memory d) {
        validate(cfg);

        d.token =
            new CohortToken(cfg.tokenName, cfg.tokenSymbol, cfg.tokenRecipients, cfg.tokenAmounts);
        d.badge = new StewardBadge(cfg.deployer);

        // The governor is the only proposer and canceller; anyone may execute what passed.
        address[] memory none = new address[](0);
        address[] memory anyone = new address[](1);
        d.timelock = new TimelockController(cfg.timelockDelay, none, anyone, cfg.deployer);
        d.governor = new StewardGovernor(
            d.badge,
            d.timelock,
            cfg.votingDelay,
            cfg.votingPeriod,
            cfg.proposalThreshold,
            cfg.quorumPercent,
            cfg.voteExtension
        );

        address treasury = cfg.treasury == address(0) ? address(d.timelock) : cfg.treasury;
        address owner = address(d.timelock);
        d.standards = new StandardsRegistry(owner, treasury, cfg.schemaVersions, cfg.guardian);
        d.datasets = new DatasetRegistry(owner, d.badge, d.standards);
        d.credentials = new ResearcherCredential(cfg.deployer);
        // The distributor names the marketplace as its funder; the marketplace is the very
        // next contract this deployer creates.
        address marketplaceAddress =
            vm.computeCreateAddress(cfg.deployer, vm.getNonce(cfg.deployer) + 1);
        d.distributor = new RewardDistributor(
            d.token, cfg.deployer, marketplaceAddress, cfg.challengeWindow, cfg.claimWindow
        );
        d.marketplace =
            new Marketplace(d.token, d.datasets, d.standards, d.distributor, d.credentials, owner);
        if (address(d.marketplace) != marketplaceAddress) revert InvalidConfig("funder address");
        d.consent = new ConsentRegistry();
        d.ledger = new QueryLedger(cfg.deployer);

        // Roles, then hand every admin power to the timelock and drop the deployer's.
        d.distributor.grantRole(d.distributor.OPERATOR_ROLE(), cfg.operator);
        d.distributor.grantRole(d.distributor.GUARDIAN_ROLE(), cfg.guardian);
        d.distributor.grantRole(d.distributor.DEFAULT_ADMIN_ROLE(), owner);
        d.distributor.renounceRole(d.distributor.DEFAULT_ADMIN_ROLE(), cfg.deployer);

        d.ledger.grantRole(d.ledger.OPERATOR_ROLE(), cfg.operator);
        d.ledger.grantRole(d.ledger.DEFAULT_ADMIN_ROLE(), owner);
        d.ledger.renounceRole(d.ledger.DEFAULT_ADMIN_ROLE(), cfg.deployer);

        // Researchers accredited at deploy (the dev stack's demo researchers); afterwards
        // only governance accredits.
        for (uint256 i = 0; i < cfg.researchers.length; ++i) {
            d.credentials.issue(cfg.researchers[i], cfg.researcherMetadata, 0);
        }
        d.credentials.transferOwnership(owner);

        for (uint256 i = 0; i < cfg.stewards.length; ++i) {
            d.badge.mint(cfg.stewards[i]);
        }
        d.badge.setRemovalHook(d.datasets);
        d.badge.transferOwnership(owner);

        d.timelock.grantRole(d.timelock.PROPOSER_ROLE(), address(d.governor));
        d.timelock.grantRole(d.timelock.CANCELLER_ROLE(), address(d.governor));
        d.timelock.renounceRole(d.timelock.DEFAULT_ADMIN_ROLE(), cfg.deployer);
    }

    /// @notice Writes the manifest read by packages/chain (and the indexer's start block).
    function writeManifest(Deployment memory d, uint256 startBlock, string memory path) public {
        string memory c = "contracts";
        vm.serializeAddress(c, "CohortToken", address(d.token));
        vm.serializeAddress(c, "StewardBadge", address(d.badge));
        vm.serializeAddress(c, "TimelockController", address(d.timelock));
        vm.serializeAddress(c, "StewardGovernor", address(d.governor));
        vm.serializeAddress(c, "StandardsRegistry", address(d.standards));
        vm.serializeAddress(c, "DatasetRegistry", address(d.datasets));
        vm.serializeAddress(c, "Marketplace", address(d.marketplace));
        vm.serializeAddress(c, "ConsentRegistry", address(d.consent));
        vm.serializeAddress(c, "RewardDistributor", address(d.distributor));
        vm.serializeAddress(c, "QueryLedger", address(d.ledger));
        string memory contractsJson =
            vm.serializeAddress(c, "ResearcherCredential", address(d.credentials));

        string memory root = "manifest";
        vm.serializeUint(root, "chainId", block.chainid);
        vm.serializeUint(root, "startBlock", startBlock);
        string memory json = vm.serializeString(root, "contracts", contractsJson);
        vm.writeJson(json, path);
    }

    function _refuseAnvil(address[] memory anvil, address account, string memory reason)
        private
        pure
    {
        for (uint256 i = 0; i < anvil.length; ++i) {
            if (account == anvil[i]) revert InvalidConfig(reason);
        }
    }

    /// @dev anvil's default accounts #from..#to, derived from its well-known mnemonic rather
    ///      than listed by hand (a mistyped literal once sent #8's tokens nowhere).
    function _anvil(uint256 from, uint256 to) private pure returns (address[] memory list) {
        list = new address[](to - from + 1);
        for (uint256 i = from; i <= to; ++i) {
            list[i - from] = vm.addr(vm.deriveKey(ANVIL_MNEMONIC, uint32(i)));
        }
    }
}
