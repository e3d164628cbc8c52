<?php

return [
    'paths' => [resource_path('views')],
    // VIEW_COMPILED_PATH as in Laravel's own skeleton: `layer-build/precompile.sh --laravel` compiles the
    // views into the app (storage/framework/views of the task root, read-only on Lambda) with
    // `artisan view:cache` and freezes this path with `config:cache`. Laravel then only compares each
    // view's modification time with its compiled file's. Otherwise they are compiled at run time, in $TMPDIR.
    'compiled' => env('VIEW_COMPILED_PATH', storage_path('framework/views')),
];
