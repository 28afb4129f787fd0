<?php
/**
 * A test's maintenance script: pushes one null job into the wiki's job
 * queue and prints the size of that queue.
 */
require_once getenv('MW_INSTALL_PATH') . '/maintenance/Maintenance.php';

class AegirPushJob extends Maintenance {
	public function execute() {
		$group = MediaWiki\MediaWikiServices::getInstance()->getJobQueueGroup();
		$group->push(new JobSpecification('null', array('removeDuplicates' => false)));
		$this->output($group->get('null')->getSize() . "\n");
	}
}

$maintClass = AegirPushJob::class;
require_once RUN_MAINTENANCE_IF_MAIN;
