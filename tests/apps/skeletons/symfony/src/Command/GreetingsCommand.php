<?php

namespace App\Command;

use App\Greetings;
use Symfony\Component\Console\Command\Command;
use Symfony\Component\Console\Input\InputInterface;
use Symfony\Component\Console\Output\OutputInterface;

class GreetingsCommand extends Command
{
    protected static $defaultName = 'app:greetings';

    public function __construct(private Greetings $greetings)
    {
        parent::__construct();
    }

    protected function execute(InputInterface $input, OutputInterface $output): int
    {
        $output->writeln('greetings: ' . implode(', ', $this->greetings->all()));
        return Command::SUCCESS;
    }
}
