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

/// @title Deploy
/// @notice Deploys and wires the whole OpenCohort system, then writes
///         `deployments/<chainId>.json`. Afterwards the deployer holds no role anywhere:
///         the TimelockController (driven by StewardGovernor) owns StandardsRegistry,
///         StewardBadge and DatasetRegistry and administers every role.
/// @dev Parameters come from the environment, with local (anvil) defaults:
///      VOTING_DELAY (blocks, 1), VOTING_PERIOD (blocks, 20), TIMELOCK_DELAY (seconds, 1),
///      QUORUM_PERCENT (50), PROPOSAL_THRESHOLD (badges, 1),
///      INITIAL_STEWARDS (comma-separated addresses; anvil #1-#3),
///      TOKEN_RECIPIENTS + TOKEN_AMOUNTS (comma-separated, amounts in wei; anvil #1-#9 with
///      1,000,000 tokens each), TOKEN_NAME ("OpenCohort"), TOKEN_SYMBOL ("COHORT"),
///      TREASURY (default: the TimelockController), OPERATOR (anvil #9),
///      SCHEMA_VERSIONS (comma-separated bytes32; keccak256("omop-lite/1") and "omop-lite/2"),
///      MANIFEST_PATH (default deployments/<chainId>.json).
contract Deploy is Script {
    /// @notice Mnemonic of anvil's dev accounts: local defaults only, never a real network.
    string private constant ANVIL_MNEMONIC =
        "test test test test test test test test test test test junk";

    /// @notice Deploy parameters.
    struct Config {
        address deployer;
        uint48 votingDelay;
        uint32 votingPeriod;
        uint256 timelockDelay;
        uint256 quorumPercent;
        uint256 proposalThreshold;
        address[] stewards;
        address[] tokenRecipients;
        uint256[] tokenAmounts;
        string tokenName;
        string tokenSymbol;
        address treasury;
        address operator;
        bytes32[] schemaVersions;
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
    }

    /// @notice The treasury was unset and the deployer would have become it.
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
        cfg.votingDelay = uint48(vm.envOr("VOTING_DELAY", uint256(1)));
        cfg.votingPeriod = uint32(vm.envOr("VOTING_PERIOD", uint256(20)));
        cfg.timelockDelay = vm.envOr("TIMELOCK_DELAY", uint256(1));
        cfg.quorumPercent = vm.envOr("QUORUM_PERCENT", uint256(50));
        cfg.proposalThreshold = vm.envOr("PROPOSAL_THRESHOLD", uint256(1));
        cfg.stewards = vm.envOr("INITIAL_STEWARDS", ",", _anvil(1, 3));
        address[] memory recipients = _anvil(1, 9);
        uint256[] memory amounts = new uint256[](recipients.length);
        for (uint256 i = 0; i < amounts.length; ++i) {
            amounts[i] = 1_000_000 ether;
        }
        cfg.tokenRecipients = vm.envOr("TOKEN_RECIPIENTS", ",", recipients);
        cfg.tokenAmounts = vm.envOr("TOKEN_AMOUNTS", ",", amounts);
        cfg.tokenName = vm.envOr("TOKEN_NAME", string("OpenCohort"));
        cfg.tokenSymbol = vm.envOr("TOKEN_SYMBOL", string("COHORT"));
        cfg.treasury = vm.envOr("TREASURY", address(0));
        cfg.operator = vm.envOr("OPERATOR", _anvil(9, 9)[0]);
        bytes32[] memory schemas = new bytes32[](2);
        schemas[0] = keccak256("omop-lite/1");
        schemas[1] = keccak256("omop-lite/2");
        cfg.schemaVersions = vm.envOr("SCHEMA_VERSIONS", ",", schemas);
    }

    /// @notice Deploys and wires everything from `cfg.deployer`, which ends with no role.
    /// @dev Called inside the broadcast by `run`, and directly by tests (deployer = this).
    function deploy(Config memory cfg) public returns (Deployment memory d) {
        if (cfg.operator == address(0)) revert InvalidConfig("OPERATOR is zero");
        if (cfg.votingPeriod == 0) revert InvalidConfig("VOTING_PERIOD is zero");

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
            cfg.quorumPercent
        );

        address treasury = cfg.treasury == address(0) ? address(d.timelock) : cfg.treasury;
        address owner = address(d.timelock);
        d.standards = new StandardsRegistry(owner, treasury, cfg.schemaVersions);
        d.datasets = new DatasetRegistry(owner, d.badge, d.standards);
        d.distributor = new RewardDistributor(d.token, cfg.deployer);
        d.marketplace = new Marketplace(d.token, d.datasets, d.standards, d.distributor);
        d.consent = new ConsentRegistry();
        d.ledger = new QueryLedger(cfg.deployer);

        // Roles, then hand every admin power to the timelock and drop the deployer's.
        d.distributor.grantRole(d.distributor.FUNDER_ROLE(), address(d.marketplace));
        d.distributor.grantRole(d.distributor.OPERATOR_ROLE(), cfg.operator);
        d.distributor.grantRole(d.distributor.DEFAULT_ADMIN_ROLE(), owner);
        d.distributor.renounceRole(d.distributor.DEFAULT_ADMIN_ROLE(), cfg.deployer);

        d.ledger.grantRole(d.ledger.OPERATOR_ROLE(), cfg.operator);
        d.ledger.grantRole(d.ledger.DEFAULT_ADMIN_ROLE(), owner);
        d.ledger.renounceRole(d.ledger.DEFAULT_ADMIN_ROLE(), cfg.deployer);

        for (uint256 i = 0; i < cfg.stewards.length; ++i) {
            d.badge.mint(cfg.stewards[i]);
        }
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
        string memory contractsJson = vm.serializeAddress(c, "QueryLedger", address(d.ledger));

        string memory root = "manifest";
        vm.serializeUint(root, "chainId", block.chainid);
        vm.serializeUint(root, "startBlock", startBlock);
        string memory json = vm.serializeString(root, "contracts", contractsJson);
        vm.writeJson(json, path);
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
