// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {BaseTest} from "./utils/Base.t.sol";
import {Deploy} from "../script/Deploy.s.sol";

contract DeployTest is BaseTest {
    function _assertNoRole(Deploy.Deployment memory dep, address who) internal view {
        bytes32[4] memory timelockRoles = [
            dep.timelock.DEFAULT_ADMIN_ROLE(),
            dep.timelock.PROPOSER_ROLE(),
            dep.timelock.EXECUTOR_ROLE(),
            dep.timelock.CANCELLER_ROLE()
        ];
        for (uint256 i = 0; i < 4; ++i) {
            assertFalse(dep.timelock.hasRole(timelockRoles[i], who), "timelock role");
        }
        IAccessControl[2] memory acs =
            [IAccessControl(address(dep.distributor)), IAccessControl(address(dep.ledger))];
        bytes32[4] memory roles = [
            bytes32(0),
            keccak256("OPERATOR_ROLE"),
            keccak256("FUNDER_ROLE"),
            keccak256("GUARDIAN_ROLE")
        ];
        for (uint256 i = 0; i < 2; ++i) {
            for (uint256 j = 0; j < 4; ++j) {
                assertFalse(acs[i].hasRole(roles[j], who), "access-control role");
            }
        }
        assertTrue(dep.badge.owner() != who, "badge owner");
        assertTrue(dep.credentials.owner() != who, "credentials owner");
        assertTrue(dep.standards.guardian() != who, "guardian");
        assertTrue(dep.standards.owner() != who, "standards owner");
        assertTrue(dep.datasets.owner() != who, "datasets owner");
        assertFalse(dep.badge.isSteward(who), "steward");
    }

    function _assertWiring(Deploy.Deployment memory dep, address expectedOperator) internal view {
        address tl = address(dep.timelock);
        assertEq(dep.badge.owner(), tl);
        assertEq(dep.standards.owner(), tl);
        assertEq(dep.datasets.owner(), tl);
        assertTrue(dep.distributor.hasRole(bytes32(0), tl));
        assertTrue(dep.ledger.hasRole(bytes32(0), tl));
        assertTrue(dep.timelock.hasRole(bytes32(0), tl), "timelock administers itself");
        assertTrue(dep.timelock.hasRole(dep.timelock.PROPOSER_ROLE(), address(dep.governor)));
        assertTrue(dep.timelock.hasRole(dep.timelock.CANCELLER_ROLE(), address(dep.governor)));
        assertTrue(dep.timelock.hasRole(dep.timelock.EXECUTOR_ROLE(), address(0)), "open executor");
        assertTrue(dep.distributor.hasRole(dep.distributor.OPERATOR_ROLE(), expectedOperator));
        assertTrue(dep.ledger.hasRole(dep.ledger.OPERATOR_ROLE(), expectedOperator));
        assertEq(dep.distributor.funder(), address(dep.marketplace));
        assertEq(dep.credentials.owner(), tl);
        address g = dep.standards.guardian();
        assertTrue(g != address(0), "guardian named");
        assertTrue(dep.distributor.hasRole(dep.distributor.GUARDIAN_ROLE(), g), "same guardian");
        assertEq(address(dep.marketplace.distributor()), address(dep.distributor));
        assertEq(address(dep.marketplace.token()), address(dep.token));
        assertEq(dep.marketplace.governance(), address(dep.timelock));
        assertEq(address(dep.governor.token()), address(dep.badge));
        assertEq(address(dep.badge.removalHook()), address(dep.datasets));
        assertEq(dep.governor.timelock(), tl);
    }

    function test_deploy_deployerKeepsNoRole() public view {
        _assertNoRole(d, address(deployScript));
        _assertWiring(d, operator);
        assertEq(token.balanceOf(researcher), INITIAL_BALANCE);
        assertEq(token.totalSupply(), 2 * INITIAL_BALANCE);
        assertEq(badge.stewardCount(), 3);
        assertEq(standards.treasury(), treasury);
        assertEq(timelock.getMinDelay(), TIMELOCK_DELAY);
    }

    function test_deploy_treasuryDefaultsToTimelock() public {
        Deploy script = new Deploy();
        Deploy.Config memory cfg = _config(address(script));
        cfg.treasury = address(0);
        Deploy.Deployment memory dep = script.deploy(cfg);
        assertEq(dep.standards.treasury(), address(dep.timelock));
        _assertNoRole(dep, address(script));
    }

    function test_deploy_revertsOnBadConfig() public {
        Deploy script = new Deploy();
        Deploy.Config memory cfg = _config(address(script));
        cfg.operator = address(0);
        vm.expectRevert(abi.encodeWithSelector(Deploy.InvalidConfig.selector, "OPERATOR is zero"));
        script.deploy(cfg);
        cfg = _config(address(script));
        cfg.votingPeriod = 0;
        vm.expectRevert(
            abi.encodeWithSelector(Deploy.InvalidConfig.selector, "VOTING_PERIOD is zero")
        );
        script.deploy(cfg);
    }

    function test_configFromEnv_localDefaults() public {
        Deploy script = new Deploy();
        Deploy.Config memory cfg = script.configFromEnv();
        assertEq(cfg.votingDelay, 1);
        assertEq(cfg.votingPeriod, 20);
        assertEq(cfg.timelockDelay, 1);
        assertEq(cfg.quorumPercent, 51);
        assertEq(cfg.voteExtension, 5);
        assertEq(cfg.challengeWindow, 0);
        assertEq(cfg.claimWindow, 365 days);
        assertEq(cfg.guardian, 0x70997970C51812dc3A010C7d01b50e0d17dc79C8);
        assertEq(cfg.researchers.length, 2);
        assertEq(cfg.researchers[0], 0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65); // anvil #4
        assertEq(cfg.researchers[1], 0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc); // anvil #5
        assertEq(cfg.proposalThreshold, 1);
        assertEq(cfg.stewards.length, 3);
        assertEq(cfg.stewards[0], 0x70997970C51812dc3A010C7d01b50e0d17dc79C8);
        assertEq(cfg.tokenRecipients.length, 9);
        // anvil #8: every default recipient is an account somebody holds the key of.
        assertEq(cfg.tokenRecipients[7], 0x23618e81E3f5cdF7f54C3d65f7FBc0aBf5B21E8f);
        assertEq(cfg.tokenAmounts[8], 1_000_000 ether);
        assertEq(cfg.operator, 0xa0Ee7A142d267C1f36714E4a8F75612F20a79720);
        assertEq(cfg.treasury, address(0));
        assertEq(cfg.schemaVersions.length, 2);
        assertEq(cfg.schemaVersions[0], keccak256("omop-lite/1"));
        assertEq(cfg.schemaVersions[1], keccak256("omop-lite/2"));
    }

    /// The real entry point: broadcast, deploy, write the manifest; the broadcaster ends with
    /// no role and the manifest has the shape packages/chain expects.
    function test_run_writesManifestAndLeavesNoRole() public {
        string memory path = string.concat(
            vm.projectRoot(), "/deployments/test-run-", vm.toString(block.number), ".json"
        );
        // Only MANIFEST_PATH is set: other tests read the rest of the env in parallel.
        vm.setEnv("MANIFEST_PATH", path);
        Deploy script = new Deploy();
        Deploy.Deployment memory dep = script.run();
        vm.setEnv("MANIFEST_PATH", "");

        (, address broadcaster,) = vm.readCallers();
        _assertNoRole(dep, broadcaster);
        _assertNoRole(dep, address(script));
        _assertWiring(dep, 0xa0Ee7A142d267C1f36714E4a8F75612F20a79720);
        assertEq(dep.governor.votingPeriod(), 20);
        assertTrue(dep.badge.isSteward(0x70997970C51812dc3A010C7d01b50e0d17dc79C8));

        string memory json = vm.readFile(path);
        vm.removeFile(path);
        assertEq(vm.parseJsonUint(json, ".chainId"), block.chainid);
        assertEq(vm.parseJsonUint(json, ".startBlock"), block.number + 1);
        assertEq(vm.parseJsonAddress(json, ".contracts.CohortToken"), address(dep.token));
        assertEq(vm.parseJsonAddress(json, ".contracts.StewardBadge"), address(dep.badge));
        assertEq(vm.parseJsonAddress(json, ".contracts.TimelockController"), address(dep.timelock));
        assertEq(vm.parseJsonAddress(json, ".contracts.StewardGovernor"), address(dep.governor));
        assertEq(vm.parseJsonAddress(json, ".contracts.StandardsRegistry"), address(dep.standards));
        assertEq(vm.parseJsonAddress(json, ".contracts.DatasetRegistry"), address(dep.datasets));
        assertEq(vm.parseJsonAddress(json, ".contracts.Marketplace"), address(dep.marketplace));
        assertEq(vm.parseJsonAddress(json, ".contracts.ConsentRegistry"), address(dep.consent));
        assertEq(
            vm.parseJsonAddress(json, ".contracts.RewardDistributor"), address(dep.distributor)
        );
        assertEq(vm.parseJsonAddress(json, ".contracts.QueryLedger"), address(dep.ledger));
        assertEq(
            vm.parseJsonAddress(json, ".contracts.ResearcherCredential"), address(dep.credentials)
        );
        assertEq(vm.parseJsonKeys(json, ".contracts").length, 11);
        assertEq(vm.parseJsonKeys(json, ".").length, 3);
    }

    address internal constant ANVIL_0 = 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266;
    address internal constant ANVIL_1 = 0x70997970C51812dc3A010C7d01b50e0d17dc79C8;
    address internal constant ANVIL_9 = 0xa0Ee7A142d267C1f36714E4a8F75612F20a79720;

    function _safeConfig(address deployer) internal view returns (Deploy.Config memory cfg) {
        cfg = _config(deployer);
        cfg.votingDelay = 1 days;
        cfg.votingPeriod = 5 days;
        cfg.voteExtension = 2 days;
        cfg.timelockDelay = 2 days;
        cfg.challengeWindow = 3 days;
    }

    function _expectInvalid(Deploy script, Deploy.Config memory cfg, string memory reason)
        internal
    {
        vm.expectRevert(abi.encodeWithSelector(Deploy.InvalidConfig.selector, reason));
        script.deploy(cfg);
    }

    /// Finding: the deploy script fell back to anvil's public keys on any chain. Off the local
    /// chain it now has no such defaults and refuses anvil accounts in every role.
    function test_finding_deployRefusesAnvilAccountsOffLocalChain() public {
        vm.chainId(8453);
        Deploy script = new Deploy();
        Deploy.Config memory cfg = script.configFromEnv();
        assertEq(cfg.stewards.length, 0);
        assertEq(cfg.operator, address(0));
        assertEq(cfg.tokenRecipients.length, 0);
        assertEq(cfg.timelockDelay, 2 days);

        cfg = _safeConfig(address(script));
        cfg.stewards[1] = ANVIL_1;
        _expectInvalid(script, cfg, "INITIAL_STEWARDS has an anvil account");
        cfg = _safeConfig(address(script));
        cfg.operator = ANVIL_9;
        _expectInvalid(script, cfg, "OPERATOR is an anvil account");
        cfg = _safeConfig(address(script));
        cfg.guardian = ANVIL_1;
        _expectInvalid(script, cfg, "GUARDIAN is an anvil account");
        cfg = _safeConfig(address(script));
        cfg.tokenRecipients[0] = ANVIL_9;
        _expectInvalid(script, cfg, "TOKEN_RECIPIENTS has an anvil account");
        cfg = _safeConfig(ANVIL_0);
        _expectInvalid(script, cfg, "deployer is an anvil account");
        cfg = _safeConfig(address(script));
        cfg.treasury = ANVIL_1;
        _expectInvalid(script, cfg, "TREASURY is an anvil account");

        Deploy.Deployment memory dep = script.deploy(_safeConfig(address(script)));
        assertEq(dep.timelock.getMinDelay(), 2 days);
        assertEq(dep.governor.votingPeriod(), 5 days);
    }

    /// Finding: a quorum of 0 and an empty steward list were accepted.
    function test_finding_deployRefusesZeroQuorumAndNoStewards() public {
        Deploy script = new Deploy();
        Deploy.Config memory cfg = _config(address(script));
        cfg.quorumPercent = 0;
        _expectInvalid(script, cfg, "QUORUM_PERCENT must be 1-100");
        cfg = _config(address(script));
        cfg.stewards = new address[](0);
        _expectInvalid(script, cfg, "INITIAL_STEWARDS is empty");
        cfg = _config(address(script));
        cfg.proposalThreshold = 4;
        _expectInvalid(script, cfg, "PROPOSAL_THRESHOLD must be 1 to the number of stewards");
        cfg = _config(address(script));
        cfg.guardian = address(0);
        _expectInvalid(script, cfg, "GUARDIAN is zero");
    }

    /// Finding: the timelock waited 1 second and voting lasted 20 blocks on any chain. Off the
    /// local chain short delays are refused; the local chain keeps them for the dev stack.
    function test_finding_deployRefusesShortDelaysOffLocalChain() public {
        Deploy script = new Deploy();
        script.deploy(_config(address(script)));
        vm.chainId(1);
        script = new Deploy();
        Deploy.Config memory cfg = _safeConfig(address(script));
        cfg.timelockDelay = 2 days - 1;
        _expectInvalid(script, cfg, "TIMELOCK_DELAY too short");
        cfg = _safeConfig(address(script));
        cfg.votingPeriod = 20;
        _expectInvalid(script, cfg, "VOTING_PERIOD too short");
        cfg = _safeConfig(address(script));
        cfg.votingDelay = 1;
        _expectInvalid(script, cfg, "VOTING_DELAY too short");
        cfg = _safeConfig(address(script));
        cfg.voteExtension = 5;
        _expectInvalid(script, cfg, "VOTE_EXTENSION too short");
        cfg = _safeConfig(address(script));
        cfg.challengeWindow = 0;
        _expectInvalid(script, cfg, "CHALLENGE_WINDOW too short");
    }
}
