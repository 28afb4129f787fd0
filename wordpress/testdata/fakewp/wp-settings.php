<?php
// fixture
