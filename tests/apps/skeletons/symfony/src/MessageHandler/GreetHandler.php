<?php

namespace App\MessageHandler;

use App\Greetings;
use App\Message\Greet;
use Symfony\Component\Messenger\Handler\MessageHandlerInterface;

/** Writes a greeting; the name "fail" always throws. */
class GreetHandler implements MessageHandlerInterface
{
    public function __construct(private Greetings $greetings)
    {
    }

    public function __invoke(Greet $message): void
    {
        if ($message->name === 'fail') {
            throw new \RuntimeException("the greeting for {$message->name} failed");
        }
        $this->greetings->add($message->name);
    }
}
