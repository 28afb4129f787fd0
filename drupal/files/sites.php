<?php

/**
 * @file
 * Multi-site aliases: $sites['<alias>'] = '<directory in sites/>';
 *
 * Aegir keeps one line per alias of each site it hosts and leaves every
 * other line of this file as it is.
 */

