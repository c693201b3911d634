// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Marketplace} from "../src/Marketplace.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {BaseTest} from "./utils/Base.t.sol";
import {DatasetRegistry} from "../src/DatasetRegistry.sol";

contract DatasetRegistryTest is BaseTest {
    bytes32 internal constant CONTENT_V2 = keccak256("content/cardio/2");

    function test_listDataset_storesAndEmits() public {
        vm.expectEmit(address(datasets));
        emit DatasetRegistry.DatasetListed(DATASET, steward1, METADATA, PRICE, DURATION);
        vm.expectEmit(address(datasets));
        emit DatasetRegistry.DatasetVersionPublished(DATASET, 1, CONTENT_V1, SCHEMA_V1);
        _listDefault();

        DatasetRegistry.Dataset memory ds = datasets.getDataset(DATASET);
        assertEq(ds.steward, steward1);
        assertEq(ds.price, PRICE);
        assertEq(ds.accessDuration, DURATION);
        assertEq(ds.latestVersion, 1);
        assertTrue(ds.listed);
        assertFalse(ds.delistedByGovernance);
        assertEq(ds.metadataHash, METADATA);
        DatasetRegistry.Version memory v = datasets.getVersion(DATASET, 1);
        assertEq(v.contentHash, CONTENT_V1);
        assertEq(v.schemaVersion, SCHEMA_V1);
        assertEq(v.publishedAt, block.timestamp);
        assertTrue(datasets.exists(DATASET));
        (address s, uint256 price, uint64 duration, bool listed) = datasets.purchaseTerms(DATASET);
        assertEq(s, steward1);
        assertEq(price, PRICE);
        assertEq(duration, DURATION);
        assertTrue(listed);
    }

    function test_listDataset_revertsWhenNotSteward() public {
        vm.expectRevert(abi.encodeWithSelector(DatasetRegistry.NotSteward.selector, outsider));
        _list(DATASET, outsider, PRICE);
    }

    function test_listDataset_revertsOnZeroId() public {
        vm.expectRevert(DatasetRegistry.InvalidDatasetId.selector);
        _list(bytes32(0), steward1, PRICE);
    }

    function test_listDataset_revertsWhenIdTaken() public {
        _listDefault();
        vm.expectRevert(
            abi.encodeWithSelector(DatasetRegistry.DatasetAlreadyExists.selector, DATASET)
        );
        _list(DATASET, steward2, PRICE);
    }

    function test_listDataset_revertsOnUnacceptedSchema() public {
        vm.expectRevert(
            abi.encodeWithSelector(DatasetRegistry.SchemaNotAccepted.selector, SCHEMA_V2)
        );
        vm.prank(steward1);
        datasets.listDataset(DATASET, METADATA, SCHEMA_V2, CONTENT_V1, PRICE, DURATION);
    }

    function test_listDataset_revertsOnZeroHashes() public {
        vm.startPrank(steward1);
        vm.expectRevert(DatasetRegistry.InvalidHash.selector);
        datasets.listDataset(DATASET, bytes32(0), SCHEMA_V1, CONTENT_V1, PRICE, DURATION);
        vm.expectRevert(DatasetRegistry.InvalidHash.selector);
        datasets.listDataset(DATASET, METADATA, SCHEMA_V1, bytes32(0), PRICE, DURATION);
        vm.stopPrank();
    }

    function testFuzz_listDataset_validatesDuration(uint64 duration) public {
        uint64 max = datasets.MAX_ACCESS_DURATION();
        vm.prank(steward1);
        if (duration == 0 || duration > max) {
            vm.expectRevert(
                abi.encodeWithSelector(DatasetRegistry.InvalidAccessDuration.selector, duration)
            );
        }
        datasets.listDataset(DATASET, METADATA, SCHEMA_V1, CONTENT_V1, PRICE, duration);
    }

    function test_publishVersion_incrementsAndEmits() public {
        _listDefault();
        vm.prank(address(timelock));
        standards.setSchemaAccepted(SCHEMA_V2, true);
        vm.expectEmit(address(datasets));
        emit DatasetRegistry.DatasetVersionPublished(DATASET, 2, CONTENT_V2, SCHEMA_V2);
        vm.prank(steward1);
        assertEq(datasets.publishVersion(DATASET, CONTENT_V2, SCHEMA_V2), 2);
        assertEq(datasets.getDataset(DATASET).latestVersion, 2);
        assertEq(datasets.getVersion(DATASET, 2).contentHash, CONTENT_V2);
        assertEq(datasets.getVersion(DATASET, 1).contentHash, CONTENT_V1);
    }

    function test_publishVersion_revertsWhenNotDatasetSteward() public {
        _listDefault();
        vm.expectRevert(
            abi.encodeWithSelector(DatasetRegistry.NotDatasetSteward.selector, DATASET, steward2)
        );
        vm.prank(steward2);
        datasets.publishVersion(DATASET, CONTENT_V2, SCHEMA_V1);
    }

    function test_publishVersion_revertsWhenBadgeRevoked() public {
        _listDefault();
        vm.prank(address(timelock));
        badge.burn(steward1);
        vm.expectRevert(abi.encodeWithSelector(DatasetRegistry.NotSteward.selector, steward1));
        vm.prank(steward1);
        datasets.publishVersion(DATASET, CONTENT_V2, SCHEMA_V1);
    }

    function test_publishVersion_revertsOnUnknownDataset() public {
        vm.expectRevert(abi.encodeWithSelector(DatasetRegistry.UnknownDataset.selector, DATASET));
        vm.prank(steward1);
        datasets.publishVersion(DATASET, CONTENT_V2, SCHEMA_V1);
    }

    function test_publishVersion_revertsOnWithdrawnSchema() public {
        _listDefault();
        vm.prank(address(timelock));
        standards.setSchemaAccepted(SCHEMA_V1, false);
        vm.expectRevert(
            abi.encodeWithSelector(DatasetRegistry.SchemaNotAccepted.selector, SCHEMA_V1)
        );
        vm.prank(steward1);
        datasets.publishVersion(DATASET, CONTENT_V2, SCHEMA_V1);
    }

    function test_publishVersion_revertsOnZeroContentHash() public {
        _listDefault();
        vm.expectRevert(DatasetRegistry.InvalidHash.selector);
        vm.prank(steward1);
        datasets.publishVersion(DATASET, bytes32(0), SCHEMA_V1);
    }

    function test_setPrice_updatesAndEmits() public {
        _listDefault();
        vm.expectEmit(address(datasets));
        emit DatasetRegistry.DatasetPriceUpdated(DATASET, 7 ether);
        vm.prank(steward1);
        datasets.setPrice(DATASET, 7 ether);
        assertEq(datasets.getDataset(DATASET).price, 7 ether);
    }

    function test_setPrice_revertsWhenNotDatasetSteward() public {
        _listDefault();
        vm.expectRevert(
            abi.encodeWithSelector(DatasetRegistry.NotDatasetSteward.selector, DATASET, outsider)
        );
        vm.prank(outsider);
        datasets.setPrice(DATASET, 1);
    }

    function test_setAccessDuration_updatesAndEmits() public {
        _listDefault();
        vm.expectEmit(address(datasets));
        emit DatasetRegistry.DatasetAccessDurationUpdated(DATASET, 7 days);
        vm.prank(steward1);
        datasets.setAccessDuration(DATASET, 7 days);
        assertEq(datasets.getDataset(DATASET).accessDuration, 7 days);
    }

    function test_setAccessDuration_revertsOnInvalid() public {
        _listDefault();
        vm.expectRevert(abi.encodeWithSelector(DatasetRegistry.InvalidAccessDuration.selector, 0));
        vm.prank(steward1);
        datasets.setAccessDuration(DATASET, 0);
    }

    function test_setAccessDuration_revertsWhenNotDatasetSteward() public {
        _listDefault();
        vm.expectRevert(
            abi.encodeWithSelector(DatasetRegistry.NotDatasetSteward.selector, DATASET, steward2)
        );
        vm.prank(steward2);
        datasets.setAccessDuration(DATASET, 1 days);
    }

    function test_setMetadata_updatesAndEmits() public {
        _listDefault();
        bytes32 meta = keccak256("metadata/cardio/v2");
        vm.expectEmit(address(datasets));
        emit DatasetRegistry.DatasetMetadataUpdated(DATASET, meta);
        vm.prank(steward1);
        datasets.setMetadata(DATASET, meta);
        assertEq(datasets.getDataset(DATASET).metadataHash, meta);
    }

    function test_setMetadata_revertsOnZeroHash() public {
        _listDefault();
        vm.expectRevert(DatasetRegistry.InvalidHash.selector);
        vm.prank(steward1);
        datasets.setMetadata(DATASET, bytes32(0));
    }

    function test_setMetadata_revertsWhenNotDatasetSteward() public {
        _listDefault();
        vm.expectRevert(
            abi.encodeWithSelector(DatasetRegistry.NotDatasetSteward.selector, DATASET, steward2)
        );
        vm.prank(steward2);
        datasets.setMetadata(DATASET, METADATA);
    }

    function test_delist_bySteward_thenRelist() public {
        _listDefault();
        vm.expectEmit(address(datasets));
        emit DatasetRegistry.DatasetDelisted(DATASET, steward1, false);
        vm.prank(steward1);
        datasets.delist(DATASET);
        assertFalse(datasets.getDataset(DATASET).listed);

        vm.expectEmit(address(datasets));
        emit DatasetRegistry.DatasetRelisted(DATASET, steward1);
        vm.prank(steward1);
        datasets.relist(DATASET);
        assertTrue(datasets.getDataset(DATASET).listed);
    }

    function test_delist_byGovernance_blocksStewardRelist() public {
        _listDefault();
        vm.expectEmit(address(datasets));
        emit DatasetRegistry.DatasetDelisted(DATASET, address(timelock), true);
        vm.prank(address(timelock));
        datasets.delist(DATASET);
        assertTrue(datasets.getDataset(DATASET).delistedByGovernance);

        vm.expectRevert(
            abi.encodeWithSelector(DatasetRegistry.DelistedByGovernance.selector, DATASET)
        );
        vm.prank(steward1);
        datasets.relist(DATASET);

        vm.prank(address(timelock));
        datasets.relist(DATASET);
        assertTrue(datasets.getDataset(DATASET).listed);
        assertFalse(datasets.getDataset(DATASET).delistedByGovernance);
    }

    function test_delist_revertsWhenNotStewardOrGovernance() public {
        _listDefault();
        vm.expectRevert(
            abi.encodeWithSelector(
                DatasetRegistry.NotDatasetStewardOrGovernance.selector, DATASET, outsider
            )
        );
        vm.prank(outsider);
        datasets.delist(DATASET);
    }

    function test_delist_revertsWhenAlreadyDelisted() public {
        _listDefault();
        vm.startPrank(steward1);
        datasets.delist(DATASET);
        vm.expectRevert(abi.encodeWithSelector(DatasetRegistry.DatasetNotListed.selector, DATASET));
        datasets.delist(DATASET);
        vm.stopPrank();
    }

    function test_delist_revertsOnUnknownDataset() public {
        vm.expectRevert(abi.encodeWithSelector(DatasetRegistry.UnknownDataset.selector, DATASET));
        vm.prank(steward1);
        datasets.delist(DATASET);
    }

    function test_relist_revertsWhenListed() public {
        _listDefault();
        vm.expectRevert(
            abi.encodeWithSelector(DatasetRegistry.DatasetAlreadyListed.selector, DATASET)
        );
        vm.prank(steward1);
        datasets.relist(DATASET);
    }

    function test_relist_revertsWhenNotStewardOrGovernance() public {
        _listDefault();
        vm.prank(steward1);
        datasets.delist(DATASET);
        vm.expectRevert(
            abi.encodeWithSelector(
                DatasetRegistry.NotDatasetStewardOrGovernance.selector, DATASET, steward2
            )
        );
        vm.prank(steward2);
        datasets.relist(DATASET);
    }

    function test_getDataset_revertsOnUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(DatasetRegistry.UnknownDataset.selector, DATASET));
        datasets.getDataset(DATASET);
    }

    function test_getVersion_revertsOnUnknown() public {
        _listDefault();
        vm.expectRevert(abi.encodeWithSelector(DatasetRegistry.UnknownVersion.selector, DATASET, 2));
        datasets.getVersion(DATASET, 2);
    }

    function test_renounceOwnership_reverts() public {
        vm.expectRevert(DatasetRegistry.RenounceDisabled.selector);
        vm.prank(address(timelock));
        datasets.renounceOwnership();
    }

    function test_renounceOwnership_revertsWhenNotOwner() public {
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider)
        );
        vm.prank(outsider);
        datasets.renounceOwnership();
    }

    /// Finding: a removed steward's datasets kept selling and paying it. Burning the badge now
    /// delists them (by governance), and governance can hand one to another steward.
    function test_finding_removedStewardDatasetsAreDelisted() public {
        _listDefault();
        bytes32 second = keccak256("dataset/second");
        _list(second, steward1, PRICE);
        bytes32 others = keccak256("dataset/others");
        _list(others, steward2, PRICE);
        vm.expectEmit(address(datasets));
        emit DatasetRegistry.DatasetDelisted(DATASET, address(badge), true);
        vm.prank(address(timelock));
        badge.burn(steward1);
        assertFalse(datasets.getDataset(DATASET).listed);
        assertFalse(datasets.getDataset(second).listed);
        assertTrue(datasets.getDataset(others).listed, "other stewards keep theirs");
        vm.expectRevert(abi.encodeWithSelector(Marketplace.DatasetNotListed.selector, DATASET));
        vm.prank(researcher);
        marketplace.purchaseAccess(DATASET, PRICE, 0);
    }

    function test_finding_governanceHandsDatasetToAnotherSteward() public {
        _listDefault();
        vm.prank(address(timelock));
        badge.burn(steward1);
        vm.expectRevert(abi.encodeWithSelector(DatasetRegistry.NotSteward.selector, outsider));
        vm.prank(address(timelock));
        datasets.setDatasetSteward(DATASET, outsider);
        vm.expectEmit(address(datasets));
        emit DatasetRegistry.DatasetStewardChanged(DATASET, steward1, steward2);
        vm.startPrank(address(timelock));
        datasets.setDatasetSteward(DATASET, steward2);
        datasets.relist(DATASET);
        vm.stopPrank();
        uint256 before = token.balanceOf(steward2);
        _buy(researcher, DATASET);
        assertGt(token.balanceOf(steward2), before, "the new steward is paid");
        assertEq(token.balanceOf(steward1), 0);
        // The new steward manages it; a later removal of the old one does not touch it.
        vm.prank(steward2);
        datasets.setPrice(DATASET, 1 ether);
    }

    function test_onStewardRemoved_onlyBadge() public {
        vm.expectRevert(abi.encodeWithSelector(DatasetRegistry.NotBadge.selector, outsider));
        vm.prank(outsider);
        datasets.onStewardRemoved(steward1);
    }

    /// Finding: governance could not stop a dataset whose passes were already sold.
    function test_finding_suspensionStopsSoldPasses() public {
        _listDefault();
        _buy(researcher, DATASET);
        assertTrue(marketplace.hasAccess(researcher, DATASET));
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, steward1)
        );
        vm.prank(steward1);
        datasets.setSuspended(DATASET, true);
        vm.expectEmit(address(datasets));
        emit DatasetRegistry.DatasetSuspended(DATASET, true);
        vm.prank(address(timelock));
        datasets.setSuspended(DATASET, true);
        assertFalse(marketplace.hasAccess(researcher, DATASET), "sold pass stops working");
        vm.expectRevert(abi.encodeWithSelector(Marketplace.DatasetNotListed.selector, DATASET));
        vm.prank(researcher);
        marketplace.purchaseAccess(DATASET, PRICE, 0);
        vm.prank(address(timelock));
        datasets.setSuspended(DATASET, false);
        assertTrue(marketplace.hasAccess(researcher, DATASET), "lifted: the pass works again");
    }
}
