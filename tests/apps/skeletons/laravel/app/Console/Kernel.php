<?php

namespace App\Console;

use Illuminate\Foundation\Console\Kernel as ConsoleKernel;

// Only the build-time commands this app uses, registered one by one: Laravel's ArtisanServiceProvider
// would resolve every command it knows, and with them services this app does not configure.
class Kernel extends ConsoleKernel
{
    protected $commands = [
        \Illuminate\Foundation\Console\ConfigCacheCommand::class,
        \Illuminate\Foundation\Console\ConfigClearCommand::class,
        \Illuminate\Foundation\Console\ViewCacheCommand::class,
    ];
}
