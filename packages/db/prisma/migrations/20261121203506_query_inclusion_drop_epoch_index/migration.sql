-- DropIndex
DROP INDEX "QueryInclusion_datasetId_epoch_personId_idx";
