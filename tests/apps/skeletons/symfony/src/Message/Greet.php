<?php

namespace App\Message;

class Greet
{
    public function __construct(public string $name)
    {
    }
}
