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
        bytes32[3] memory roles = [bytes32(0), keccak256("OPERATOR_ROLE"), keccak256("FUNDER_ROLE")];
        for (uint256 i = 0; i < 2; ++i) {
            for (uint256 j = 0; j < 3; ++j) {
                assertFalse(acs[i].hasRole(roles[j], who), "access-control role");
            }
        }
        assertTrue(dep.badge.owner() != who, "badge owner");
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
        assertTrue(dep.distributor.hasRole(dep.distributor.FUNDER_ROLE(), address(dep.marketplace)));
        assertEq(address(dep.marketplace.distributor()), address(dep.distributor));
        assertEq(address(dep.marketplace.token()), address(dep.token));
        assertEq(address(dep.governor.token()), address(dep.badge));
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
        assertEq(cfg.quorumPercent, 50);
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
        assertEq(vm.parseJsonKeys(json, ".contracts").length, 10);
        assertEq(vm.parseJsonKeys(json, ".").length, 3);
    }
}
