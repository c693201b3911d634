// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {BaseTest} from "./utils/Base.t.sol";
import {ResearcherCredential} from "../src/ResearcherCredential.sol";
import {Marketplace} from "../src/Marketplace.sol";

contract ResearcherCredentialTest is BaseTest {
    bytes32 internal constant REFERENCE = keccak256("accreditation/ons-safe-researcher/42");
    address internal newcomer = makeAddr("newcomer");
    address internal newcomerLaptop = makeAddr("newcomer-laptop");

    function setUp() public override {
        super.setUp();
        _listDefault();
    }

    function _issue(address holder, uint64 expiresAt) internal returns (uint256 id) {
        vm.prank(address(timelock));
        id = credentials.issue(holder, REFERENCE, expiresAt);
    }

    function _fundAndApprove(address who) internal {
        vm.prank(researcher);
        token.transfer(who, PRICE);
        vm.prank(who);
        token.approve(address(marketplace), PRICE);
    }

    function test_deploy_accreditsInitialResearchers() public view {
        assertTrue(credentials.isAccredited(researcher));
        assertTrue(credentials.isAccredited(researcher2));
        assertEq(credentials.credentialCount(), 2);
        assertEq(credentials.owner(), address(timelock));
    }

    /// Purchase requires a valid credential: an unaccredited address cannot buy.
    function test_purchase_revertsWithoutCredential() public {
        _fundAndApprove(newcomer);
        vm.expectRevert(abi.encodeWithSelector(Marketplace.NotAccredited.selector, newcomer));
        vm.prank(newcomer);
        marketplace.purchaseAccess(DATASET, PRICE, 0);
    }

    /// The whole path through governance: steward proposal, vote, timelock, then the
    /// researcher buys.
    function test_governance_accreditsThenResearcherBuys() public {
        _govern(
            address(credentials),
            abi.encodeCall(ResearcherCredential.issue, (newcomer, REFERENCE, 0))
        );
        uint256 id = credentials.credentialOf(newcomer);
        assertEq(id, 3);
        ResearcherCredential.Credential memory c = credentials.getCredential(id);
        assertEq(c.metadataHash, REFERENCE);
        assertEq(c.addresses.length, 1);
        _fundAndApprove(newcomer);
        vm.prank(newcomer);
        marketplace.purchaseAccess(DATASET, PRICE, 0);
        assertTrue(marketplace.hasAccess(newcomer, DATASET));
    }

    function test_issue_onlyGovernance() public {
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, steward1)
        );
        vm.prank(steward1);
        credentials.issue(newcomer, REFERENCE, 0);
    }

    function test_issue_revertsOnBoundAddressZeroReferenceOrPastExpiry() public {
        vm.startPrank(address(timelock));
        vm.expectRevert(
            abi.encodeWithSelector(ResearcherCredential.AlreadyBound.selector, researcher, 1)
        );
        credentials.issue(researcher, REFERENCE, 0);
        vm.expectRevert(ResearcherCredential.InvalidMetadata.selector);
        credentials.issue(newcomer, bytes32(0), 0);
        uint64 past = uint64(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(ResearcherCredential.InvalidExpiry.selector, past));
        credentials.issue(newcomer, REFERENCE, past);
        vm.stopPrank();
    }

    function test_expiry_endsAccreditationAndPasses() public {
        uint256 id = _issue(newcomer, uint64(block.timestamp + 10 days));
        _fundAndApprove(newcomer);
        vm.prank(newcomer);
        marketplace.purchaseAccess(DATASET, PRICE, 0);
        assertTrue(marketplace.hasAccess(newcomer, DATASET));
        vm.warp(block.timestamp + 10 days);
        assertFalse(credentials.isAccredited(newcomer));
        assertFalse(marketplace.hasAccess(newcomer, DATASET), "pass needs a valid credential");
        // Renewal by governance restores it.
        vm.prank(address(timelock));
        credentials.update(id, REFERENCE, 0);
        assertTrue(marketplace.hasAccess(newcomer, DATASET));
    }

    function test_suspension_stopsEveryAddressAtOnce() public {
        uint256 id = credentials.credentialOf(researcher);
        vm.prank(researcher);
        credentials.requestAddress(newcomerLaptop);
        vm.prank(address(timelock));
        credentials.approveAddress(id, newcomerLaptop);
        _buy(researcher, DATASET);
        vm.expectEmit(address(credentials));
        emit ResearcherCredential.CredentialSuspended(id, true);
        vm.prank(address(timelock));
        credentials.setSuspended(id, true);
        assertFalse(credentials.isAccredited(researcher));
        assertFalse(credentials.isAccredited(newcomerLaptop));
        assertFalse(marketplace.hasAccess(researcher, DATASET));
        vm.prank(address(timelock));
        credentials.setSuspended(id, false);
        assertTrue(credentials.isAccredited(newcomerLaptop));
        assertTrue(marketplace.hasAccess(researcher, DATASET));
    }

    function test_revoke_isFinal_andAddressesCannotStartOver() public {
        uint256 id = credentials.credentialOf(researcher);
        vm.startPrank(address(timelock));
        credentials.revoke(id);
        assertFalse(credentials.isAccredited(researcher));
        vm.expectRevert(
            abi.encodeWithSelector(ResearcherCredential.CredentialRevoked.selector, id)
        );
        credentials.setSuspended(id, false);
        vm.expectRevert(
            abi.encodeWithSelector(ResearcherCredential.AlreadyBound.selector, researcher, id)
        );
        credentials.issue(researcher, REFERENCE, 0);
        vm.stopPrank();
    }

    /// A second address is added by the holder and approved by governance; both act for the
    /// same credential (the app keeps budgets per credential).
    function test_secondAddress_requestedByHolderApprovedByGovernance() public {
        uint256 id = credentials.credentialOf(researcher);
        vm.expectRevert(
            abi.encodeWithSelector(
                ResearcherCredential.AddressNotRequested.selector, id, newcomerLaptop
            )
        );
        vm.prank(address(timelock));
        credentials.approveAddress(id, newcomerLaptop);
        vm.expectRevert(abi.encodeWithSelector(ResearcherCredential.NotHolder.selector, outsider));
        vm.prank(outsider);
        credentials.requestAddress(newcomerLaptop);

        vm.expectEmit(address(credentials));
        emit ResearcherCredential.AddressRequested(id, newcomerLaptop);
        vm.prank(researcher);
        credentials.requestAddress(newcomerLaptop);
        assertFalse(credentials.isAccredited(newcomerLaptop), "not before approval");
        _govern(
            address(credentials),
            abi.encodeCall(ResearcherCredential.approveAddress, (id, newcomerLaptop))
        );
        assertTrue(credentials.isAccredited(newcomerLaptop));
        assertEq(credentials.credentialOf(newcomerLaptop), id);
        assertEq(credentials.getCredential(id).addresses.length, 2);
    }

    /// Rotation: add the new address, then drop the old one; the old one stays bound.
    function test_rotation_removesOldAddress() public {
        uint256 id = credentials.credentialOf(researcher);
        vm.prank(researcher);
        vm.expectRevert(abi.encodeWithSelector(ResearcherCredential.LastAddress.selector, id));
        credentials.removeAddress(researcher);
        vm.prank(researcher);
        credentials.requestAddress(newcomerLaptop);
        vm.prank(address(timelock));
        credentials.approveAddress(id, newcomerLaptop);
        vm.prank(newcomerLaptop);
        credentials.removeAddress(researcher);
        assertFalse(credentials.isAccredited(researcher));
        assertEq(credentials.credentialOf(researcher), 0);
        assertTrue(credentials.isAccredited(newcomerLaptop));
        // A removed address cannot act for the credential nor join another one.
        vm.expectRevert(
            abi.encodeWithSelector(ResearcherCredential.NotHolder.selector, researcher)
        );
        vm.prank(researcher);
        credentials.requestAddress(outsider);
        vm.expectRevert(
            abi.encodeWithSelector(ResearcherCredential.AlreadyBound.selector, researcher, id)
        );
        vm.prank(address(timelock));
        credentials.issue(researcher, REFERENCE, 0);
        // Lifting a suspension does not bring the removed address back.
        vm.startPrank(address(timelock));
        credentials.setSuspended(id, true);
        credentials.setSuspended(id, false);
        vm.stopPrank();
        assertFalse(credentials.isAccredited(researcher));
    }

    function test_addresses_cappedAtMax() public {
        uint256 id = credentials.credentialOf(researcher);
        for (uint256 i = 1; i < credentials.MAX_ADDRESSES(); ++i) {
            address extra = makeAddr(string.concat("extra-", vm.toString(i)));
            vm.prank(researcher);
            credentials.requestAddress(extra);
            vm.prank(address(timelock));
            credentials.approveAddress(id, extra);
        }
        vm.prank(researcher);
        credentials.requestAddress(outsider);
        vm.expectRevert(abi.encodeWithSelector(ResearcherCredential.TooManyAddresses.selector, id));
        vm.prank(address(timelock));
        credentials.approveAddress(id, outsider);
    }

    function test_renounceOwnership_reverts() public {
        vm.expectRevert(ResearcherCredential.RenounceDisabled.selector);
        vm.prank(address(timelock));
        credentials.renounceOwnership();
    }

    function testFuzz_isAccredited_followsExpiry(uint32 lifetime, uint32 later) public {
        uint64 expiresAt = uint64(block.timestamp) + 1 + lifetime;
        _issue(newcomer, expiresAt);
        vm.warp(block.timestamp + later);
        assertEq(credentials.isAccredited(newcomer), block.timestamp < expiresAt);
    }
}
