<?php // fixture
