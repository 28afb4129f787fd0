<?php
// No header here.
