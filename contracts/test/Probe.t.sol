// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;
import {Test} from "forge-std/Test.sol";
import {Probe} from "../src/Probe.sol";
contract ProbeTest is Test { function test_mint() public { Probe p = new Probe(); assertEq(p.totalSupply(), 1); } }
