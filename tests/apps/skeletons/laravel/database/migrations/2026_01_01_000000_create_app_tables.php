<?php

use Illuminate\Database\Migrations\Migration;
use Illuminate\Database\Schema\Blueprint;
use Illuminate\Support\Facades\Schema;

return new class extends Migration {
    public function up()
    {
        Schema::create('failed_jobs', function (Blueprint $table) {
            $table->id();
            $table->string('uuid')->unique();
            $table->text('connection');
            $table->text('queue');
            $table->longText('payload');
            $table->longText('exception');
            $table->timestamp('failed_at')->useCurrent();
        });
        Schema::create('greetings', function (Blueprint $table) {
            $table->id();
            $table->string('name');
            $table->string('via');
        });
        Schema::create('job_failures', function (Blueprint $table) {
            $table->id();
            $table->string('name');
            $table->text('message');
        });
    }

    public function down()
    {
        Schema::dropIfExists('job_failures');
        Schema::dropIfExists('greetings');
        Schema::dropIfExists('failed_jobs');
    }
};
