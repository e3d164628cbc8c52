<?php

return [
    'default' => 'sqlite',
    'connections' => [
        // Under $TMPDIR: the task root is read-only on Lambda (bootstrap/app.php creates the file).
        'sqlite' => [
            'driver' => 'sqlite',
            'database' => rtrim(getenv('TMPDIR') ?: sys_get_temp_dir(), '/') . '/laravel/database.sqlite',
            'prefix' => '',
            'foreign_key_constraints' => true,
        ],
    ],
    'migrations' => 'migrations',
];
