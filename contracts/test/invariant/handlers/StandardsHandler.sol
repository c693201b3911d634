// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {StandardsRegistry} from "../../../src/StandardsRegistry.sol";

/// @notice Calls every StandardsRegistry setter with random values from random callers (the
///         timelock among them). The ghost state follows only successful timelock calls.
contract StandardsHandler is Test {
    StandardsRegistry internal standards;
    address[] internal callers;

    uint32 public k;
    uint32 public roundingBase;
    uint128 public epsilonPerQuery;
    uint128 public epsilonBudget;
    uint16 public patientsBps;
    uint16 public stewardBps;
    uint16 public treasuryBps;
    address public treasury;
    mapping(bytes32 => bool) public schemaAccepted;
    bytes32[] public schemas;

    uint256 public unauthorizedSuccesses;
    uint256 public timelockChanges;
    uint256 public attempts;
    uint256 public rejections;

    constructor(StandardsRegistry standards_, address[] memory callers_) {
        standards = standards_;
        callers = callers_; // callers[0] is the timelock
        k = standards.minCellSize();
        roundingBase = standards.roundingBase();
        epsilonPerQuery = standards.epsilonPerQuery();
        epsilonBudget = standards.epsilonBudget();
        (patientsBps, stewardBps, treasuryBps, treasury) = standards.feeSplit();
        schemas.push(keccak256("omop-lite/1"));
        schemas.push(keccak256("omop-lite/2"));
        schemaAccepted[schemas[0]] = standards.isSchemaAccepted(schemas[0]);
    }

    function schemaCount() external view returns (uint256) {
        return schemas.length;
    }

    function _caller(uint256 seed) internal returns (address) {
        attempts++;
        return callers[bound(seed, 0, callers.length - 1)];
    }

    function _record(address caller, bool ok) internal returns (bool applies) {
        if (!ok) return false;
        if (caller != callers[0]) {
            unauthorizedSuccesses++;
            return false;
        }
        timelockChanges++;
        return true;
    }

    function setMinCellSize(uint256 who, uint32 value) external {
        address caller = _caller(who);
        vm.prank(caller);
        try standards.setMinCellSize(value) {
            if (_record(caller, true)) k = value;
        } catch {
            rejections++;
        }
    }

    function setRoundingBase(uint256 who, uint32 value) external {
        address caller = _caller(who);
        vm.prank(caller);
        try standards.setRoundingBase(value) {
            if (_record(caller, true)) roundingBase = value;
        } catch {
            rejections++;
        }
    }

    function setEpsilon(uint256 who, uint128 perQuery, uint128 budget) external {
        address caller = _caller(who);
        budget = uint128(bound(budget, 0, 120e18));
        perQuery = uint128(bound(perQuery, 0, 130e18));
        vm.prank(caller);
        try standards.setEpsilon(perQuery, budget) {
            if (_record(caller, true)) {
                epsilonPerQuery = perQuery;
                epsilonBudget = budget;
            }
        } catch {
            rejections++;
        }
    }

    function setFeeSplit(uint256 who, uint16 p, uint16 s, uint16 t, bool forceValid) external {
        address caller = _caller(who);
        if (forceValid) {
            p = uint16(bound(p, 0, 10_000));
            t = uint16(bound(t, 0, 10_000 - p));
            s = 10_000 - p - t;
        }
        vm.prank(caller);
        try standards.setFeeSplit(p, s, t) {
            if (_record(caller, true)) {
                (patientsBps, stewardBps, treasuryBps) = (p, s, t);
            }
        } catch {
            rejections++;
        }
    }

    function setTreasury(uint256 who, address value) external {
        address caller = _caller(who);
        vm.prank(caller);
        try standards.setTreasury(value) {
            if (_record(caller, true)) treasury = value;
        } catch {
            rejections++;
        }
    }

    function setSchemaAccepted(uint256 who, uint256 which, bool accepted) external {
        address caller = _caller(who);
        bytes32 schema = schemas[bound(which, 0, schemas.length - 1)];
        vm.prank(caller);
        try standards.setSchemaAccepted(schema, accepted) {
            if (_record(caller, true)) schemaAccepted[schema] = accepted;
        } catch {
            rejections++;
        }
    }

    function transferOwnership(uint256 who, address to) external {
        address caller = _caller(who);
        vm.assume(caller != callers[0]); // the timelock keeps ownership in this model
        vm.prank(caller);
        try standards.transferOwnership(to) {
            unauthorizedSuccesses++;
        } catch {
            rejections++;
        }
    }

    function renounceOwnership(uint256 who) external {
        address caller = _caller(who);
        vm.prank(caller);
        try standards.renounceOwnership() {
            unauthorizedSuccesses++;
        } catch {
            rejections++;
        }
    }
}
